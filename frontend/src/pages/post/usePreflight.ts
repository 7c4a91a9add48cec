// The post page's check before any escrow moves: the job against the providers the gateway lists and the
// runtime images it advertises (lib/preflight.ts holds the rules, the same as `job submit`'s).
import { useMemo } from "react";
import { useReadContract } from "wagmi";
import { crowdMarketAbi } from "../../lib/contracts";
import { requirementsOf, type SpecValues } from "../../lib/jobSpec";
import { valueAt, type ManifestData } from "../../lib/manifest";
import { whyNoProvider } from "../../lib/preflight";
import { useProviders } from "../../lib/queries";
import { useAppConfig } from "../../lib/wallet";

export type Preflight =
  /** Nothing to check yet (no valid manifest or terms), or the providers are still loading. */
  | { state: "waiting" }
  /** The providers could not be read: the page says so and does not stand in the way. */
  | { state: "unknown"; error: string }
  | { state: "checked"; reasons: string[] };

export function usePreflight(manifest: ManifestData | null, values: SpecValues | null): Preflight {
  const { config } = useAppConfig();
  const providers = useProviders();
  const marketConfig = useReadContract({
    address: config.market ?? undefined,
    abi: crowdMarketAbi,
    functionName: "config",
    query: { enabled: config.market !== null, staleTime: Infinity },
  });
  const minStake = marketConfig.data?.minProviderStake ?? 0n;
  return useMemo((): Preflight => {
    if (!manifest || !values) return { state: "waiting" };
    if (providers.error) return { state: "unknown", error: providers.error.message };
    if (!providers.data) return { state: "waiting" };
    const job = {
      needs: requirementsOf(manifest),
      budget: values.budget,
      collateral: values.collateral,
      runTimeout: values.runTimeout,
      image: String(valueAt(manifest, "runtime.image") ?? ""),
      digest: String(valueAt(manifest, "runtime.digest") ?? ""),
    };
    return { state: "checked", reasons: whyNoProvider(job, providers.data.data, minStake, config.runtimeImages) };
  }, [manifest, values, providers.data, providers.error, minStake, config.runtimeImages]);
}
