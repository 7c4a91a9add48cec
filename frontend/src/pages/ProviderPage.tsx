// One provider's dashboard: capabilities, stake and collateral, record, earnings over time, energy.
import { Link, useNavigate } from "react-router";
import { AddressLink, Amount, Empty, ErrorBox, Loading, Stat, StateBadge } from "../components/common";
import { Chart } from "../components/Chart";
import { EnergyRecords } from "../components/EnergyRecords";
import { isNotFound, type ProviderDetailPublic } from "../lib/api";
import { dateTime, mib, tokenAmount } from "../lib/format";
import { paths } from "../lib/paths";
import { carbonText, energyText } from "../lib/energy";
import { earningsOverTime, successRate } from "../lib/providers";
import { useProvider } from "../lib/queries";

/** Tick labels for a time axis: clock time within a day, dates beyond. */
function timeAxis(spanSeconds: number): (x: number) => string {
  const options: Intl.DateTimeFormatOptions =
    spanSeconds < 86_400 ? { hour: "2-digit", minute: "2-digit", second: spanSeconds < 600 ? "2-digit" : undefined } : { month: "short", day: "numeric" };
  return (x: number) => new Date(x * 1000).toLocaleString(undefined, options);
}

function Earnings({ provider }: { provider: ProviderDetailPublic }) {
  const { points, byTime } = earningsOverTime(provider.recent_jobs);
  if (!points.length) return <Empty title="No accepted jobs yet">Earnings appear here once a job is accepted.</Empty>;
  const span = points.length ? points[points.length - 1]!.x - points[0]!.x : 0;
  const formatX = byTime ? timeAxis(span) : (x: number) => `#${Math.round(x)}`;
  return (
    <>
      <Chart
        series={[{ name: "cumulative earnings (CROWD)", points, color: "#2b8a3e", step: true }]}
        xLabel={byTime ? "time" : "block"}
        yLabel="CROWD"
        formatX={formatX}
        height={220}
      />
      <p className="muted small">Over the {provider.recent_jobs.length} most recent jobs; totals above count every job.</p>
    </>
  );
}

export function ProviderEnergy({ provider }: { provider: Pick<ProviderDetailPublic, "energy" | "energy_totals"> }) {
  const totals = provider.energy_totals;
  if (!provider.energy.length) {
    return <Empty title="No energy figures yet">This provider has not reported the energy of a job it ran.</Empty>;
  }
  return (
    <>
      <p>
        {energyText(totals.kwh)}, {carbonText(totals.gco2e)} over {totals.jobs} {totals.jobs === 1 ? "job" : "jobs"} ({totals.measured_jobs} measured,{" "}
        {totals.jobs - totals.measured_jobs} estimated)
      </p>
      <EnergyRecords records={provider.energy} by="job" />
    </>
  );
}

export function ProviderPage({ address }: { address: string }) {
  const navigate = useNavigate();
  const { data: provider, error, isPending, refetch } = useProvider(address);
  if (isPending) return <Loading what="Loading provider" />;
  if (!provider) {
    if (isNotFound(error)) return <Empty title="No such provider">{address} has not registered as a provider.</Empty>;
    return <ErrorBox error={error} title="The provider could not be loaded" onRetry={() => void refetch()} />;
  }
  const rate = successRate(provider);
  const free = BigInt(provider.stake) - BigInt(provider.locked);
  return (
    <div className="page">
      <p className="crumbs">
        <Link to={paths.providers}>Providers</Link> / <AddressLink address={provider.address} />
      </p>
      <h1 className="mono-title">
        Provider <span className="mono">{provider.address}</span>
      </h1>
      <div className="stats">
        <Stat label="completed jobs">{provider.completed_jobs}</Stat>
        <Stat label="failed jobs">{provider.failed_jobs}</Stat>
        <Stat label="success rate">{rate === null ? "—" : `${Math.round(rate * 100)}%`}</Stat>
        <Stat label="earned (paid + rewards)">{tokenAmount(BigInt(provider.earnings) + BigInt(provider.rewards))}</Stat>
        <Stat label="slashed">{tokenAmount(provider.slashed)}</Stat>
      </div>
      <div className="columns">
        <section className="card">
          <h2>Capabilities</h2>
          <dl className="facts">
            <div>
              <dt>CPU</dt>
              <dd>{provider.cpu_cores} cores</dd>
            </div>
            <div>
              <dt>Memory</dt>
              <dd>{mib(provider.memory_mib)}</dd>
            </div>
            <div>
              <dt>GPUs</dt>
              <dd>{provider.gpu_count ? `${provider.gpu_count} × ${mib(provider.gpu_memory_mib)}, class ${provider.gpu_class}` : "none"}</dd>
            </div>
            <div>
              <dt>Price</dt>
              <dd>
                <Amount units={provider.price_per_hour} /> per hour
              </dd>
            </div>
            <div>
              <dt>Registered</dt>
              <dd>block {provider.registered_block}</dd>
            </div>
          </dl>
        </section>
        <section className="card">
          <h2>Stake and collateral</h2>
          <dl className="facts">
            <div>
              <dt>Staked</dt>
              <dd>
                <Amount units={provider.stake} />
              </dd>
            </div>
            <div>
              <dt>Locked as collateral</dt>
              <dd>
                <Amount units={provider.locked} />
              </dd>
            </div>
            <div>
              <dt>Free</dt>
              <dd>
                <Amount units={free > 0n ? free : 0n} />
              </dd>
            </div>
            <div>
              <dt>Unbonding</dt>
              <dd>
                <Amount units={provider.unbonding} />
              </dd>
            </div>
          </dl>
        </section>
      </div>
      <section className="card">
        <h2>Earnings over time</h2>
        <Earnings provider={provider} />
      </section>
      <section className="card">
        <h2>Recent jobs</h2>
        {provider.recent_jobs.length === 0 ? (
          <Empty title="No jobs yet" />
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Job</th>
                <th>State</th>
                <th className="num">Budget</th>
                <th className="num">Reward</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {provider.recent_jobs.map((job) => (
                <tr key={job.id} className="clickable" onClick={() => navigate(paths.job(job.id))}>
                  <td>
                    <Link to={paths.job(job.id)}>#{job.id}</Link>
                  </td>
                  <td>
                    <StateBadge state={job.state} />
                  </td>
                  <td className="num">
                    <Amount units={job.budget} />
                  </td>
                  <td className="num">
                    <Amount units={job.reward} />
                  </td>
                  <td className="small muted">{dateTime(job.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="card">
        <h2>Energy and carbon per job</h2>
        <ProviderEnergy provider={provider} />
      </section>
    </div>
  );
}
