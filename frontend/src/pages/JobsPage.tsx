// Every job the gateway indexed, newest first, filtered by state and by "mine", a page at a time.
import { Link, useNavigate, useSearchParams } from "react-router";
import { AddressLink, Amount, Empty, ErrorBox, Loading, StateBadge } from "../components/common";
import { JOB_STATES, type JobStateName } from "../lib/api";
import { duration, relativeTime } from "../lib/format";
import { paths } from "../lib/paths";
import { useJobs } from "../lib/queries";
import { useWallet } from "../lib/wallet";

export const PAGE_SIZE = 20;

export interface JobsQuery {
  state: JobStateName | null;
  mine: boolean;
  page: number;
}

export function readJobsQuery(query: URLSearchParams): JobsQuery {
  const state = query.get("state");
  const page = Number(query.get("page") ?? "1");
  return {
    state: JOB_STATES.includes(state as JobStateName) ? (state as JobStateName) : null,
    mine: query.get("mine") === "1",
    page: Number.isInteger(page) && page > 0 ? page : 1,
  };
}

export function jobsPath(query: JobsQuery): string {
  const params = new URLSearchParams();
  if (query.state) params.set("state", query.state);
  if (query.mine) params.set("mine", "1");
  if (query.page > 1) params.set("page", String(query.page));
  const text = params.toString();
  return text ? `${paths.jobs}?${text}` : paths.jobs;
}

export function JobsPage() {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const query = readJobsQuery(search);
  const { account } = useWallet();
  const requester = query.mine ? account : null;
  // "Only mine" without a wallet asks nothing and lists nothing.
  const filter =
    query.mine && !requester
      ? null
      : {
          ...(query.state ? { state: query.state } : {}),
          ...(requester ? { requester: requester.toLowerCase() } : {}),
          limit: PAGE_SIZE,
          offset: (query.page - 1) * PAGE_SIZE,
        };
  const { data, error, isPending, refetch } = useJobs(filter);
  const go = (change: Partial<JobsQuery>) => navigate(jobsPath({ ...query, page: 1, ...change }));
  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;

  return (
    <div className="page">
      <header className="page-head">
        <h1>Jobs</h1>
        <Link className="button primary" to={paths.post}>
          Post a job
        </Link>
      </header>
      <div className="filters" role="group" aria-label="Filters">
        <label>
          State{" "}
          <select value={query.state ?? ""} onChange={(event) => go({ state: (event.currentTarget.value || null) as JobStateName | null })}>
            <option value="">all</option>
            {JOB_STATES.map((state) => (
              <option key={state} value={state}>
                {state}
              </option>
            ))}
          </select>
        </label>
        <label className="check" title={account ? undefined : "Connect a wallet to see your jobs"}>
          <input type="checkbox" checked={query.mine} disabled={!account} onChange={(event) => go({ mine: event.currentTarget.checked })} />
          Only mine
        </label>
        {data && <span className="muted small">{data.count} job{data.count === 1 ? "" : "s"}</span>}
      </div>
      {isPending ? (
        <Loading what="Loading jobs" />
      ) : error !== null && !data ? (
        <ErrorBox error={error} title="Jobs could not be loaded" onRetry={() => void refetch()} />
      ) : !data || data.data.length === 0 ? (
        <Empty title={query.mine && !account ? "Connect a wallet to see your jobs" : query.state || query.mine ? "No jobs match these filters" : "No jobs yet"}>
          {query.state || query.mine ? (
            <Link to={paths.jobs}>Show all jobs</Link>
          ) : (
            <>
              <Link to={paths.post}>Post the first one</Link>.
            </>
          )}
        </Empty>
      ) : (
        <>
          <table className="table jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>State</th>
                <th>Requester</th>
                <th>Provider</th>
                <th className="num">Budget</th>
                <th>Verification</th>
                <th>Run timeout</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {data.data.map((job) => (
                <tr key={job.id} className="clickable" onClick={() => navigate(paths.job(job.id))}>
                  <td>
                    <Link to={paths.job(job.id)} onClick={(event) => event.stopPropagation()}>
                      #{job.id}
                    </Link>
                  </td>
                  <td>
                    <StateBadge state={job.state} />
                  </td>
                  <td>
                    <AddressLink address={job.requester} />
                  </td>
                  <td>
                    <AddressLink address={job.provider} />
                  </td>
                  <td className="num">
                    <Amount units={job.budget} />
                  </td>
                  <td>
                    {job.mode}
                    {job.committee_size > 0 && <span className="muted small"> · {job.committee_size} validators</span>}
                  </td>
                  <td>{duration(job.run_timeout_s)}</td>
                  <td className="muted small">{relativeTime(job.updated_at ?? job.posted_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages">
            <button type="button" className="button small" disabled={query.page <= 1} onClick={() => navigate(jobsPath({ ...query, page: query.page - 1 }))}>
              ← Newer
            </button>
            <span className="muted small">
              page {query.page} of {pages}
            </span>
            <button type="button" className="button small" disabled={query.page >= pages} onClick={() => navigate(jobsPath({ ...query, page: query.page + 1 }))}>
              Older →
            </button>
          </nav>
        </>
      )}
    </div>
  );
}
