// The key agent in the tab: while the dApp is open and the requester's keys are in memory, each `JobClaimed` of
// one of its confidential jobs gets the content key sealed to the claimant's published key (`releaseKey`), inside
// the key window. What it did, or why not, is kept per job for the job page.
import { useEffect, useSyncExternalStore } from "react";
import type { Address, Hash, PublicClient, WalletClient } from "viem";
import { useConfig } from "wagmi";
import { api } from "../api";
import { cidFromChain } from "../cid";
import { connectedClients } from "../connectedClients";
import { crowdMarketAbi } from "../contracts";
import { loadChainJob } from "../jobData";
import { explainError } from "../revert";
import { useAppConfig, useWallet } from "../wallet";
import { SealingError } from "./errors";
import { isConfidential, keyReleaseAddress, keySaltOf, keyWindowEnd, releaseContentKey } from "./keyRelease";
import { knownRequesterKeys, requesterKeysVersion, subscribeRequesterKeys } from "./keySession";
import type { RequesterKeys } from "./requesterKeys";

export type AgentStatus =
  | { kind: "working"; provider: Address }
  | { kind: "released"; provider: Address; blockNumber: bigint; hash: Hash; recorded: boolean }
  | { kind: "not released"; provider: Address; reason: string };

const statuses = new Map<string, AgentStatus>();
const listeners = new Set<() => void>();
let version = 0;

function setStatus(jobId: bigint, status: AgentStatus): void {
  statuses.set(String(jobId), status);
  version += 1;
  for (const listener of listeners) listener();
}

export function agentStatus(jobId: bigint | number): AgentStatus | null {
  return statuses.get(String(jobId)) ?? null;
}

const subscribe = (listener: () => void) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};

/** The agent's latest word on job `jobId`, re-rendered as it changes. */
export function useAgentStatus(jobId: number): AgentStatus | null {
  useSyncExternalStore(subscribe, () => version);
  return agentStatus(jobId);
}

export interface AgentContext {
  publicClient: PublicClient;
  walletClient: WalletClient;
  keys: RequesterKeys;
  market: Address;
  keyRelease: Address;
  deploymentBlock: bigint;
}

// One try per claim (a job, its claimant and the claim's deadline) per tab.
const handled = new Set<string>();

/** Release the content key for the claim `(jobId, provider, deadline)` if the job is this requester's and confidential. */
export async function handleClaim(ctx: AgentContext, jobId: bigint, provider: Address, deadline: bigint): Promise<void> {
  const claim = `${ctx.keys.chainId}:${jobId}:${provider.toLowerCase()}:${deadline}`;
  if (handled.has(claim)) return;
  handled.add(claim);
  let chainJob: Awaited<ReturnType<typeof loadChainJob>>;
  try {
    chainJob = await loadChainJob(ctx.publicClient, ctx.market, jobId, ctx.deploymentBlock);
  } catch (error) {
    handled.delete(claim); // the next event or a reload tries again
    throw error;
  }
  const { job } = chainJob;
  if (job.spec.requester.toLowerCase() !== ctx.keys.account.toLowerCase() || !isConfidential(job)) return;
  if (chainJob.status !== "Claimed" || job.state.provider.toLowerCase() !== provider.toLowerCase() || job.state.deadline !== deadline) {
    if (chainJob.status === "Open") handled.delete(claim); // the claim is not readable yet: the next sweep tries again
    return;
  }
  const windowEnd = keyWindowEnd(job);
  // The chain's clock decides (a devnet's may run ahead of this machine's).
  const { timestamp } = await ctx.publicClient.getBlock();
  if (timestamp > windowEnd) {
    const when = new Date(Number(windowEnd) * 1000).toLocaleString();
    setStatus(jobId, { kind: "not released", provider, reason: `the key window of this claim closed at ${when} (a quarter of the run timeout after the claim)` });
    return;
  }
  setStatus(jobId, { kind: "working", provider });
  try {
    const keySalt = await keySaltOf(cidFromChain(job.spec.bundleDigest, job.spec.bundleCodec));
    const contentKey = await ctx.keys.contentKey(keySalt);
    const sender = { publicClient: ctx.publicClient, walletClient: ctx.walletClient, account: ctx.keys.account, keyRelease: ctx.keyRelease };
    const sent = await releaseContentKey(sender, ctx.keys.chainId, jobId, job, contentKey);
    setStatus(jobId, { kind: "released", provider, blockNumber: sent.blockNumber, hash: sent.hash, recorded: sent.recorded });
  } catch (error) {
    const reason = error instanceof SealingError ? error.message : explainError(error);
    setStatus(jobId, { kind: "not released", provider, reason });
  }
}

const INDEX_LAG_BLOCKS = 50n;
const SWEEP_MS = 3_000;

/** The connected requester's jobs claimed before the tab opened, from the gateway's index. */
async function claimedJobs(account: Address): Promise<{ id: number; provider: Address; deadline: number }[]> {
  const { data } = await api.GET("/jobs", { params: { query: { state: "Claimed", requester: account, limit: 100 } } });
  return (data?.data ?? []).flatMap((job) =>
    job.provider && job.deadline !== null ? [{ id: job.id, provider: job.provider as Address, deadline: job.deadline }] : [],
  );
}

/** Run the key agent while the connected requester's keys are in memory (mounted once, in the frame). */
export function useKeyAgent(): void {
  const { config } = useAppConfig();
  const wallet = useWallet();
  const wagmiConfig = useConfig();
  const keysVersion = useSyncExternalStore(subscribeRequesterKeys, requesterKeysVersion);
  const { account, wrongChain } = wallet;
  const { market, chainId, deploymentBlock } = config;
  useEffect(() => {
    if (!account || !market || wrongChain) return;
    const keys = knownRequesterKeys(account, chainId);
    if (!keys) return;
    let stop: (() => void) | null = null;
    let cancelled = false;
    void (async () => {
      try {
        const { walletClient, publicClient } = await connectedClients(wagmiConfig);
        const keyRelease = await keyReleaseAddress(publicClient, market);
        const from = BigInt(deploymentBlock ?? 0);
        const ctx: AgentContext = { publicClient, walletClient, keys, market, keyRelease, deploymentBlock: from };
        const onClaim = (jobId: bigint, provider: Address, deadline: bigint) => void handleClaim(ctx, jobId, provider, deadline).catch(() => undefined);
        const head = await publicClient.getBlockNumber();
        const sweep = async () => {
          const claimed = await claimedJobs(account).catch(() => []);
          if (!cancelled) for (const job of claimed) onClaim(BigInt(job.id), job.provider, BigInt(job.deadline));
        };
        await sweep();
        if (cancelled) return;
        // The index is swept again every few seconds as well: a claim mined while the event filter below was
        // being set up (a busy machine) is never missed, and a handled claim is not handled twice.
        const sweeper = setInterval(() => void sweep(), SWEEP_MS);
        const unwatch = publicClient.watchContractEvent({
          address: market,
          abi: crowdMarketAbi,
          eventName: "JobClaimed",
          // Overlap the index's lag: a claim seen twice is handled once.
          fromBlock: head > from + INDEX_LAG_BLOCKS ? head - INDEX_LAG_BLOCKS : from,
          pollingInterval: 1_000,
          onLogs: (logs) => {
            for (const log of logs) onClaim(log.args.jobId as bigint, log.args.provider as Address, log.args.deadline as bigint);
          },
        });
        stop = () => {
          clearInterval(sweeper);
          unwatch();
        };
      } catch {
        // No KeyRelease on this market (an older deployment) or the RPC is down: nothing to release.
      }
    })();
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [account, market, chainId, deploymentBlock, wrongChain, wagmiConfig, keysVersion]);
}

/** The agent as a component, loaded lazily by the frame once keys are unlocked in this tab. */
export default function KeyAgentRunner(): null {
  useKeyAgent();
  return null;
}
