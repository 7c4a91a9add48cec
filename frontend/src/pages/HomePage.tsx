// The market at a glance: totals from the index, the latest jobs, and where to start.
import { AddressLink, Amount, Empty, ErrorBox, Loading, Stat, StateBadge } from "../components/common";
import { api, unwrap } from "../lib/api";
import { relativeTime, tokenAmountShort } from "../lib/format";
import { href, navigate } from "../lib/router";
import { useAsync } from "../lib/useAsync";

function Stats() {
  const { data, error, loading, reload } = useAsync(async () => unwrap(await api.GET("/stats")), [], 10_000);
  if (loading && !data) return <Loading what="Loading market totals" />;
  if (!data) return <ErrorBox error={error} title="Market totals could not be loaded" onRetry={reload} />;
  const active = (data.jobs_by_state.Open ?? 0) + (data.jobs_by_state.Claimed ?? 0) + (data.jobs_by_state.Submitted ?? 0);
  return (
    <div className="stats">
      <Stat label="jobs posted">{data.jobs}</Stat>
      <Stat label="active now">{active}</Stat>
      <Stat label="accepted">{data.jobs_by_state.Accepted ?? 0}</Stat>
      <Stat label="providers">{data.providers}</Stat>
      <Stat label="validators">{data.validators}</Stat>
      <Stat label="CROWD paid to providers">{tokenAmountShort(BigInt(data.paid_to_providers) + BigInt(data.rewards_to_providers))}</Stat>
    </div>
  );
}

function LatestJobs() {
  const { data, error, loading, reload } = useAsync(
    async () => unwrap(await api.GET("/jobs", { params: { query: { limit: 5 } } })),
    [],
    5_000,
  );
  if (loading && !data) return <Loading what="Loading jobs" />;
  if (!data) return <ErrorBox error={error} title="Jobs could not be loaded" onRetry={reload} />;
  if (!data.data.length) {
    return (
      <Empty title="No jobs yet">
        <a href={href("/post")}>Post the first training job</a>.
      </Empty>
    );
  }
  return (
    <table className="table">
      <tbody>
        {data.data.map((job) => (
          <tr key={job.id} className="clickable" onClick={() => navigate(`/jobs/${job.id}`)}>
            <td>
              <a href={href(`/jobs/${job.id}`)}>#{job.id}</a>
            </td>
            <td>
              <StateBadge state={job.state} />
            </td>
            <td>
              <AddressLink address={job.requester} />
            </td>
            <td className="num">
              <Amount units={job.budget} />
            </td>
            <td className="muted small">{relativeTime(job.updated_at ?? job.posted_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function HomePage() {
  return (
    <div className="page">
      <section className="hero">
        <div>
          <h1>Train on other people's idle hardware</h1>
          <p>
            Post a training job with its budget in escrow. A provider runs it in a sandbox; validators re-run sampled
            segments and vote before anyone is paid.
          </p>
        </div>
        <div className="hero-actions">
          <a className="button primary large" href={href("/post")}>
            Post a job
          </a>
          <a className="button large" href={href("/jobs")}>
            Browse jobs
          </a>
        </div>
      </section>
      <Stats />
      <section className="card">
        <div className="card-head">
          <h2>Latest jobs</h2>
          <a href={href("/jobs")}>All jobs →</a>
        </div>
        <LatestJobs />
      </section>
    </div>
  );
}
