// The gateway's data as TanStack queries: one key per read, polled while a page shows it (polling pauses
// in a hidden tab), kept in the cache between pages so going back shows the last answer at once.
import { useQuery } from "@tanstack/react-query";
import { api, TERMINAL_STATES, unwrap, type JobStateName, type ReadinessPublic } from "./api";

export interface JobsFilter {
  state?: JobStateName;
  requester?: string;
  limit: number;
  offset?: number;
}

/** Every query key the dApp uses, so a change can refresh exactly what it touched. */
export const queryKeys = {
  stats: ["stats"] as const,
  readiness: ["readiness"] as const,
  jobs: (filter: JobsFilter) => ["jobs", filter] as const,
  allJobs: ["jobs"] as const,
  job: (id: number) => ["job", id] as const,
  providers: ["providers"] as const,
  provider: (address: string) => ["provider", address] as const,
};

export function useStats() {
  return useQuery({ queryKey: queryKeys.stats, queryFn: async () => unwrap(await api.GET("/stats")), refetchInterval: 10_000 });
}

/** What the gateway waits for (GET /readyz answers 503 with the same body while it is not ready). */
export function useReadiness() {
  return useQuery({
    queryKey: queryKeys.readiness,
    queryFn: async (): Promise<ReadinessPublic | null> => {
      const result = await api.GET("/readyz");
      return result.data ?? (result.error as ReadinessPublic | undefined) ?? null;
    },
    refetchInterval: 15_000,
  });
}

/** A page of jobs; `null` skips the request and answers "none" (e.g. "only mine" with no wallet). */
export function useJobs(filter: JobsFilter | null, pollMs = 5_000) {
  return useQuery({
    queryKey: queryKeys.jobs(filter ?? { limit: 0 }),
    queryFn: async () => (filter ? unwrap(await api.GET("/jobs", { params: { query: filter } })) : { data: [], count: 0 }),
    refetchInterval: pollMs,
  });
}

/** One job, polled every 3 s until it reaches a state it never leaves. */
export function useJob(id: number) {
  return useQuery({
    queryKey: queryKeys.job(id),
    queryFn: async () => unwrap(await api.GET("/jobs/{job_id}", { params: { path: { job_id: id } } })),
    refetchInterval: (query) => (query.state.data && TERMINAL_STATES.has(query.state.data.state) ? false : 3_000),
  });
}

export function useProviders() {
  return useQuery({
    queryKey: queryKeys.providers,
    queryFn: async () => unwrap(await api.GET("/providers", { params: { query: { limit: 500 } } })),
    refetchInterval: 10_000,
  });
}

export function useProvider(address: string) {
  return useQuery({
    queryKey: queryKeys.provider(address),
    queryFn: async () => unwrap(await api.GET("/providers/{address}", { params: { path: { address } } })),
    refetchInterval: 10_000,
  });
}
