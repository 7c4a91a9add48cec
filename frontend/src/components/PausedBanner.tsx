// The market's pause, read from the chain (`paused()`): the guardian may pause new posts and claims in an
// incident; running jobs still settle and every withdrawal still works. A banner under the header says so,
// and the post form refuses to post while it lasts.
import { useReadContract } from "wagmi";
import { crowdMarketAbi } from "../lib/contracts";
import { useAppConfig } from "../lib/wallet";

export const PAUSED_TEXT =
  "The market is paused by its guardian: new posts and claims are refused; running jobs settle and withdrawals work.";

/** Whether the market is paused, polled every 15 s; false while unknown (the chain refuses a post anyway). */
export function useMarketPaused(): boolean {
  const { config } = useAppConfig();
  const read = useReadContract({
    address: config.market ?? undefined,
    abi: crowdMarketAbi,
    functionName: "paused",
    query: { enabled: config.market !== null, refetchInterval: 15_000 },
  });
  return read.status === "success" && read.data === true;
}

export function PausedBanner() {
  const paused = useMarketPaused();
  if (!paused) return null;
  return (
    <div className="paused-banner" role="status" data-testid="paused-banner">
      {PAUSED_TEXT}
    </div>
  );
}
