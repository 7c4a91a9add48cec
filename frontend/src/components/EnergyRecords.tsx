// Energy and carbon records, labelled as what they are: each provider's own report.
import { Link } from "react-router";
import type { EnergyReportPublic } from "../lib/api";
import { carbonText, energyText, gridText, methodText } from "../lib/energy";
import { paths } from "../lib/paths";
import { AddressLink } from "./common";

export const REPORTED_BY_PROVIDER = "Reported by the provider that ran the job; the market does not verify these figures.";

export function EnergyRecords({ records, by }: { records: EnergyReportPublic[]; by: "job" | "provider" }) {
  return (
    <>
      <table className="table energy">
        <thead>
          <tr>
            <th>{by === "job" ? "Job" : "Provider"}</th>
            <th className="num">Energy</th>
            <th className="num">Carbon</th>
            <th>How</th>
            <th className="num">Grid intensity</th>
          </tr>
        </thead>
        <tbody>
          {records.map((record) => (
            <tr key={`${record.job_id}-${record.provider}`}>
              <td>{by === "job" ? <Link to={paths.job(record.job_id)}>#{record.job_id}</Link> : <AddressLink address={record.provider} to="provider" />}</td>
              <td className="num">{energyText(record.kwh)}</td>
              <td className="num">{carbonText(record.gco2e)}</td>
              <td>{methodText(record)}</td>
              <td className="num">{gridText(record.grid_gco2e_per_kwh)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">{REPORTED_BY_PROVIDER}</p>
    </>
  );
}
