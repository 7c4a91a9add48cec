// What a person can do to a job from the page: the requester cancels an open job; anyone expires a
// job past its deadline or finalizes a verified one. Each call rebuilds the `Job` from chain events,
// is simulated first (a revert reads as the contract's error in words), then sent from the wallet.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Hash } from "viem";
import { useConfig } from "wagmi";
import type { JobDetailPublic } from "../../lib/api";
import { connectedClients } from "../../lib/connectedClients";
import { crowdMarketAbi } from "../../lib/contracts";
import { shortHash } from "../../lib/format";
import { loadChainJob } from "../../lib/jobData";
import { queryKeys } from "../../lib/queries";
import { explainError } from "../../lib/revert";
import { signerOf } from "../../lib/signer";
import { useAppConfig, useCrowdBalance, useWallet } from "../../lib/wallet";

type Action = "cancelJob" | "expireJob" | "finalize";

const LABELS: Record<Action, string> = {
  cancelJob: "Cancel job and refund escrow",
  expireJob: "Expire (deadline passed)",
  finalize: "Finalize",
};

/** The actions that make sense for `job` now, for `account`. */
export function availableActions(job: JobDetailPublic, account: string | null, nowSeconds: number): Action[] {
  const actions: Action[] = [];
  if (job.state === "Open" && account && account.toLowerCase() === job.requester.toLowerCase()) actions.push("cancelJob");
  if (job.state === "Claimed" && job.deadline !== null && nowSeconds > job.deadline) actions.push("expireJob");
  if (job.state === "Submitted") actions.push("finalize");
  return actions;
}

export function JobActions({ job, onDone }: { job: JobDetailPublic; onDone: () => void }) {
  const { config } = useAppConfig();
  const wallet = useWallet();
  const { refresh: refreshBalance } = useCrowdBalance();
  const wagmiConfig = useConfig();
  const queryClient = useQueryClient();
  const [running, setRunning] = useState<Action | null>(null);
  const [message, setMessage] = useState<{ tone: "good" | "bad"; text: string } | null>(null);
  const actions = availableActions(job, wallet.account, Date.now() / 1000);
  // Keep the outcome of the last action on screen after it made the action itself unavailable.
  if (!actions.length && !message) return null;

  const run = async (action: Action) => {
    const { account } = wallet;
    if (!account || !config.market) return;
    setRunning(action);
    setMessage(null);
    try {
      const { walletClient, publicClient } = await connectedClients(wagmiConfig);
      const current = await loadChainJob(publicClient, config.market, BigInt(job.id), config.deploymentBlock);
      const { request } = await publicClient.simulateContract({
        address: config.market,
        abi: crowdMarketAbi,
        functionName: action,
        args: [BigInt(job.id), current.job],
        account,
      });
      const hash: Hash = await walletClient.writeContract({ ...request, account: signerOf(walletClient, account), chain: walletClient.chain ?? null });
      setMessage({ tone: "good", text: `Sent ${shortHash(hash)}; waiting for it…` });
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 1_000 });
      if (receipt.status !== "success") throw new Error(`the transaction ${hash} reverted`);
      setMessage({ tone: "good", text: "Done. The page updates once the gateway indexes it." });
      void refreshBalance();
      void queryClient.invalidateQueries({ queryKey: queryKeys.allJobs });
      onDone();
    } catch (error) {
      setMessage({ tone: "bad", text: explainError(error) });
    } finally {
      setRunning(null);
    }
  };

  const blocked =
    wallet.account === null ? "Connect a wallet to act on this job." : wallet.wrongChain ? `Switch your wallet to chain ${config.chainId}.` : null;
  return (
    <div className="job-actions">
      {actions.map((action) => (
        <button
          key={action}
          type="button"
          className={`button ${action === "cancelJob" ? "danger" : ""}`}
          disabled={running !== null || blocked !== null}
          onClick={() => void run(action)}
        >
          {running === action ? "Working…" : LABELS[action]}
        </button>
      ))}
      {blocked && actions.length > 0 && <span className="muted small">{blocked}</span>}
      {message && (
        <p className={message.tone === "bad" ? "problem general" : "notice"} role={message.tone === "bad" ? "alert" : "status"}>
          {message.text}
        </p>
      )}
    </div>
  );
}
