// A confidential job on its page: whether it is one (read from the chain), its badge, and its panel, whose
// sealing code loads only for confidential jobs.
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense } from "react";
import type { PublicClient } from "viem";
import { useConfig } from "wagmi";
import { TERMINAL_STATES, type JobDetailPublic } from "../../lib/api";
import type { Job } from "../../lib/contracts";
import type { KeyEvent } from "../../lib/sealing/keyRelease";
import { useAppConfig } from "../../lib/wallet";

const Panel = lazy(() => import("./ConfidentialPanel"));

export interface ConfidentialJob {
  job: Job;
  events: KeyEvent[];
}

/** The chain's view of a confidential job (null for a clear one, or before `job` loads): the job and its key events. */
export function useConfidentialJob(job: JobDetailPublic | undefined) {
  const { config } = useAppConfig();
  const wagmiConfig = useConfig();
  const market = config.market;
  return useQuery({
    queryKey: ["confidential", config.chainId, market, job?.id, job?.state, job?.result_cid],
    enabled: Boolean(job && market),
    // A clear job stays clear; a live confidential one gets new key events.
    refetchInterval: (query) => (query.state.data === null || (job && TERMINAL_STATES.has(job.state)) ? false : 5_000),
    queryFn: async (): Promise<ConfidentialJob | null> => {
      if (!job || !market) return null;
      // Read on demand, so the page's first load does not carry the chain reading code.
      const [{ getPublicClient }, { loadChainJob }, { isConfidential, keyEvents, keyReleaseAddress }] = await Promise.all([
        import("wagmi/actions"),
        import("../../lib/jobData"),
        import("../../lib/sealing/keyRelease"),
      ]);
      const client = getPublicClient(wagmiConfig) as PublicClient | undefined;
      if (!client) return null;
      const chainJob = await loadChainJob(client, market, BigInt(job.id), config.deploymentBlock);
      if (!isConfidential(chainJob.job)) return null;
      const keyRelease = await keyReleaseAddress(client, market);
      const events = await keyEvents(client, keyRelease, BigInt(job.id), config.deploymentBlock);
      return { job: chainJob.job, events };
    },
  });
}

export function ConfidentialBadge() {
  return (
    <span className="badge sealed-badge" title="bundle and results are sealed; only the parties the protocol names can open them">
      Confidential
    </span>
  );
}

export function ConfidentialPanel(props: { job: JobDetailPublic; confidential: ConfidentialJob }) {
  return (
    <Suspense fallback={null}>
      <Panel {...props} />
    </Suspense>
  );
}
