// The manifest as `field = value` rows, each problem (from the browser's check or the gateway's 422)
// shown next to the field it names.
import { manifestRows, type FieldProblem, type ManifestData } from "../lib/manifest";

function display(value: unknown): string {
  if (value === undefined) return "(missing)";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length ? `{ ${entries.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ")} }` : "{}";
  }
  return String(value);
}

interface ManifestViewProps {
  manifest: ManifestData | null;
  problems: FieldProblem[];
  source: "browser" | "gateway" | null;
}

export function ManifestView({ manifest, problems, source }: ManifestViewProps) {
  const { rows, general } = manifestRows(manifest, problems);
  const count = problems.length;
  return (
    <section className="manifest" aria-label="Manifest check">
      <header className="manifest-head">
        {count === 0 ? (
          <span className="badge badge-good">job.toml is valid</span>
        ) : (
          <span className="badge badge-bad">
            {count} problem{count === 1 ? "" : "s"} {source === "gateway" ? "found by the gateway" : "in job.toml"}
          </span>
        )}
      </header>
      {general.map((problem) => (
        <p key={problem.message} className="problem general" role="alert">
          {problem.message}
        </p>
      ))}
      {rows.length > 0 && (
        <table className="manifest-table">
          <tbody>
            {rows.map((row) => (
              <tr key={row.field} className={row.problems.length ? "row-invalid" : undefined} data-field={row.field}>
                <th scope="row" className="mono">
                  {row.field}
                </th>
                <td>
                  <span className="mono value">{display(row.value)}</span>
                  {row.problems.map((problem) => (
                    <span key={`${problem.field}${problem.message}`} className="problem">
                      {problem.field !== row.field && <code>{problem.field.slice(row.field.length).replace(/^\./, "")}: </code>}
                      {problem.message}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
