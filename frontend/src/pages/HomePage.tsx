// The market at a glance: totals from the index, the latest jobs, and where to start.
import { Link, useNavigate } from "react-router";
import { AddressLink, Amount, Empty, ErrorBox, Loading, Stat, StateBadge } from "../components/common";
import { carbonText, energyText } from "../lib/energy";
import { relativeTime, tokenAmountShort } from "../lib/format";
import { paths } from "../lib/paths";
import { useJobs, useStats } from "../lib/queries";

function Stats() {
  const { data, error, isPending, refetch } = useStats();
  if (isPending) return <Loading what="Loading market totals" />;
  if (!data) return <ErrorBox error={error} title="Market totals could not be loaded" onRetry={() => void refetch()} />;
  const active = (data.jobs_by_state.Open ?? 0) + (data.jobs_by_state.Claimed ?? 0) + (data.jobs_by_state.Submitted ?? 0);
  return (
    <div className="stats">
      <Stat label="jobs posted">{data.jobs}</Stat>
      <Stat label="active now">{active}</Stat>
      <Stat label="accepted">{data.jobs_by_state.Accepted ?? 0}</Stat>
      <Stat label="providers">{data.providers}</Stat>
      <Stat label="validators">{data.validators}</Stat>
      <Stat label="CROWD paid to providers">{tokenAmountShort(BigInt(data.paid_to_providers) + BigInt(data.rewards_to_providers))}</Stat>
      <Stat label={`energy of ${data.energy.jobs} ${data.energy.jobs === 1 ? "job" : "jobs"}, as providers reported it`}>
        {energyText(data.energy.kwh)} · {carbonText(data.energy.gco2e)}
      </Stat>
    </div>
  );
}

function LatestJobs() {
  const navigate = useNavigate();
  const { data, error, isPending, refetch } = useJobs({ limit: 5 });
  if (isPending) return <Loading what="Loading jobs" />;
  if (!data) return <ErrorBox error={error} title="Jobs could not be loaded" onRetry={() => void refetch()} />;
  if (!data.data.length) {
    return (
      <Empty title="No jobs yet">
        <Link to={paths.post}>Post the first training job</Link>.
      </Empty>
    );
  }
  return (
    <table className="table">
      <tbody>
        {data.data.map((job) => (
          <tr key={job.id} className="clickable" onClick={() => navigate(paths.job(job.id))}>
            <td>
              <Link to={paths.job(job.id)}>#{job.id}</Link>
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
          <Link className="button primary large" to={paths.post}>
            Post a job
          </Link>
          <Link className="button large" to={paths.jobs}>
            Browse jobs
          </Link>
        </div>
      </section>
      <Stats />
      <section className="card">
        <div className="card-head">
          <h2>Latest jobs</h2>
          <Link to={paths.jobs}>All jobs →</Link>
        </div>
        <LatestJobs />
      </section>
    </div>
  );
}
