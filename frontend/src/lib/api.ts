// The gateway's API client: openapi-fetch over the types generated from its OpenAPI schema.
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/api";
import { JOB_STATUS, OUTCOME } from "../generated/jobLayout";

type Schemas = components["schemas"];
export type JobPublic = Schemas["JobPublic"];
export type JobDetailPublic = Schemas["JobDetailPublic"];
export type JobsPublic = Schemas["JobsPublic"];
export type ChainEventPublic = Schemas["ChainEventPublic"];
export type VotePublic = Schemas["VotePublic"];
export type ProviderPublic = Schemas["ProviderPublic"];
export type ProviderDetailPublic = Schemas["ProviderDetailPublic"];
export type StatsPublic = Schemas["StatsPublic"];
export type BundlePublic = Schemas["BundlePublic"];
export type ErrorPublic = Schemas["ErrorPublic"];
export type LogLinePublic = Schemas["LogLinePublic"];
export type ReadinessPublic = Schemas["ReadinessPublic"];
export type ConfigPublic = Schemas["ConfigPublic"];
export type JobReportsPublic = Schemas["JobReportsPublic"];
export type SkipReportPublic = Schemas["SkipReportPublic"];
export type EnergyReportPublic = Schemas["EnergyReportPublic"];
export type EnergyTotalsPublic = Schemas["EnergyTotalsPublic"];
export type JobStateName = JobPublic["state"];

type LiveStatus = Exclude<(typeof JOB_STATUS)[number], "None" | "Closed">;
const isLive = (status: (typeof JOB_STATUS)[number]): status is LiveStatus => status !== "None" && status !== "Closed";
/** How a job closes without a verdict: the states its `JobCancelled`, `JobExpired` and `ClaimReleased` events give it. */
const CLOSED_BY_EVENT = ["Cancelled", "Expired", "Released"] as const;

/** How a job ended: a verdict, or an event that closed it. */
export type TerminalState = (typeof OUTCOME)[number] | (typeof CLOSED_BY_EVENT)[number];

/** A job's states as the index tells them (api/models/jobs.py): live statuses, then how it closed. */
export const JOB_STATES: JobStateName[] = [...JOB_STATUS.filter(isLive), ...OUTCOME, ...CLOSED_BY_EVENT];
export const TERMINAL_STATES: ReadonlySet<JobStateName> = new Set<JobStateName>([...OUTCOME, ...CLOSED_BY_EVENT]);

/** Where the gateway is: the page's own origin (it serves the dApp), or VITE_API_URL for development. */
export function apiBase(): string {
  const configured = import.meta.env.VITE_API_URL as string | undefined;
  if (configured) return configured.replace(/\/$/, "");
  return typeof window !== "undefined" ? window.location.origin : "http://127.0.0.1:8000";
}

export function apiUrl(path: string): string {
  return `${apiBase()}${path}`;
}

// `fetch` looked up per request, so a test (or a polyfill loaded later) can replace it. The API shares some
// paths with the dApp's pages (`/jobs/12`): asking for JSON gets the API's answer there (api/pages.py).
export const api = createClient<paths>({
  baseUrl: apiBase(),
  headers: { Accept: "application/json" },
  fetch: (request) => globalThis.fetch(request),
});

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** A readable message from the gateway's error body (`{code, detail}` or FastAPI's `{detail: [...]}`). */
export function errorMessage(status: number, body: unknown): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).slice(1).join(".")}: ${d.msg ?? "invalid"}`)
        .join("; ");
    }
  }
  return status ? `the gateway answered ${status}` : "the gateway could not be reached";
}

/** The data of an openapi-fetch result, or an `ApiError` saying what the gateway said. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data !== undefined && result.response.ok) return result.data;
  throw new ApiError(result.response.status, errorMessage(result.response.status, result.error), result.error);
}

/** Whether `error` is the gateway saying 404 (a job not indexed yet, an unknown provider). */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}
