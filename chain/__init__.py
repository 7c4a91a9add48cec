"""Everything that talks JSON-RPC: compile, deploy, typed contract clients, revert decoding, event reading.

Entry points for the other packages:

- `chain.rpc.Rpc.connect(url, expected_chain_id=...)`: a checked connection (`RpcUnreachable`, ...);
- `chain.clients.MarketClient` (`post_job`, `claim_job(job_id)`, `vote`, `finalize`, `stake`, views ...) and
  `chain.clients.TokenClient`; `MarketClient.connect(rpc, account=...)` reads `deployments/<chainId>.json`;
- `chain.events.EventReader` (`poll()`, `follow()`, `CheckpointStore`): ordered, confirmed, resumable events;
- `chain.job_store.JobStore`: a job's struct rebuilt from its events and checked against `jobWord`;
- `chain.sender.TxSender`: one per process, shared by every thread and account;
- `chain.keys.load_signer(chain_id)`: the signing key, dev keys refused on live chains;
- `chain.anvil.AnvilProcess` / `chain.anvil.DevChain`: a local node and its test-only controls.
"""
