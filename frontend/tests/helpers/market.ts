/// <reference types="node" />
// A market deployed on a test anvil by the repository's Python (`chain`, as `crowdcompute devnet up` does),
// with a requester refund waiting in it: dev account 1 posts a job that dev account 2 claims and submits,
// nobody votes, and the job is finalized Unverified, so the whole escrow is credited to account 1's market
// balance (the market pays by crediting, never by sending).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const python = process.env.PYTHON ?? resolve(repo, ".venv", "bin", "python");

const REFUND = `
import json, sys
from chain import (Capabilities, DevChain, JobSpec, MarketClient, ResultCommitment, Rpc, VerificationMode,
    deploy_market, dev_account, tokens)
rpc = Rpc.connect(sys.argv[1])
deployment = deploy_market(rpc, dev_account(0), save_dir=None)
treasury = MarketClient(rpc, deployment, account=dev_account(0))
for index in (1, 2):
    treasury.token.transfer(dev_account(index).address, tokens(1000))
requester, provider = treasury.with_account(dev_account(1)), treasury.with_account(dev_account(2))
provider.register_provider(Capabilities(cpu_cores=2, memory_mib=2048, price_per_hour=tokens(1)), b"\\x01" * 32)
provider.stake(treasury.config().min_provider_stake)
spec = JobSpec(budget=tokens(10), bundle_digest=b"\\x22" * 32, bundle_codec=0x55, collateral=tokens(5),
    run_timeout=3600, cpu_cores=1, memory_mib=128, mode=VerificationMode.SEGMENTS, committee_size=1,
    samples_per_validator=1, verify_blocks=2, validator_fee=tokens(1))
job = requester.post_job(spec).job_id
provider.claim_job(job)
provider.submit_result(job, ResultCommitment(b"\\x33" * 32, b"\\x44" * 32, 1))
DevChain(rpc).mine(2 * spec.verify_blocks + 1)  # the window, then the appeal window
outcome = treasury.finalize(job).outcome
json.dump({"market": deployment.market, "token": deployment.token, "block": deployment.block_number,
    "outcome": int(outcome), "refund": str(requester.account_of().balance)}, sys.stdout)
`;

export interface RefundedMarket {
  market: `0x${string}`;
  token: `0x${string}`;
  block: number;
  outcome: number;
  /** What dev account 1's market balance holds, in base units. */
  refund: bigint;
}

export function deployWithRefund(rpcUrl: string): RefundedMarket {
  if (!existsSync(python)) throw new Error(`no Python at ${python}: run \`make setup\` at the repository root (or set PYTHON)`);
  const stdout = execFileSync(python, ["-c", REFUND, rpcUrl], { cwd: repo, env: { ...process.env, PYTHONPATH: repo } });
  const parsed = JSON.parse(stdout.toString("utf8")) as Omit<RefundedMarket, "refund"> & { refund: string };
  return { ...parsed, refund: BigInt(parsed.refund) };
}
