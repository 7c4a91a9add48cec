// What providers told the gateway about this job: why they skip it (while it waits for one), and the energy
// it used. Both are the providers' own reports.
import { AddressLink, Empty } from "../../components/common";
import { EnergyRecords } from "../../components/EnergyRecords";
import type { JobDetailPublic } from "../../lib/api";
import { relativeTime } from "../../lib/format";

export function SkipReports({ job }: { job: Pick<JobDetailPublic, "state" | "reports"> }) {
  const { summary, skips } = job.reports;
  if (!summary) {
    if (job.state !== "Open") return null;
    return <p className="muted small">No provider has reported skipping it yet (providers report through the gateway they push logs to).</p>;
  }
  return (
    <div className="skip-reports">
      <p>
        <strong>{summary}</strong>
        {job.state !== "Open" && <span className="muted small"> (while it was open)</span>}
      </p>
      <ul className="plain">
        {skips.map((skip) => (
          <li key={skip.provider}>
            <AddressLink address={skip.provider} to="provider" /> <span className="badge badge-neutral">{skip.kind}</span> {skip.reason}{" "}
            <span className="muted small">{relativeTime(skip.reported_at)}</span>
          </li>
        ))}
      </ul>
      <p className="muted small">As each provider reported it.</p>
    </div>
  );
}

export function JobEnergy({ job }: { job: Pick<JobDetailPublic, "reports"> }) {
  if (!job.reports.energy.length) {
    return <Empty title="No energy figures yet">The provider reports the job's energy and carbon when the run ends.</Empty>;
  }
  return <EnergyRecords records={job.reports.energy} by="provider" />;
}
