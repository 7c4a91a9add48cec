// What the post page's check found: nothing in the way, or why no registered provider would run the job,
// with the box to tick to post it anyway.
import type { Preflight } from "./usePreflight";

interface PreflightNoticeProps {
  preflight: Preflight;
  confirmed: boolean;
  onConfirm: (confirmed: boolean) => void;
  disabled?: boolean;
}

export function PreflightNotice({ preflight, confirmed, onConfirm, disabled = false }: PreflightNoticeProps) {
  if (preflight.state === "waiting") return <p className="muted small">Checking the job against the registered providers…</p>;
  if (preflight.state === "unknown") {
    return (
      <p className="warning small" role="status">
        The registered providers could not be read ({preflight.error}), so nobody checked that one would run this job.
      </p>
    );
  }
  if (!preflight.reasons.length) {
    return (
      <p className="muted small" role="status">
        A registered provider would run this job: its capabilities, stake and price fit.
      </p>
    );
  }
  return (
    <div className="problem general preflight" role="alert">
      <strong>No registered provider would run this job as it stands:</strong>
      <ul>
        {preflight.reasons.map((reason) => (
          <li key={reason}>{reason}</li>
        ))}
      </ul>
      <label className="check">
        <input type="checkbox" name="postAnyway" checked={confirmed} disabled={disabled} onChange={(event) => onConfirm(event.currentTarget.checked)} />
        Post it anyway: the escrow stays locked until a provider runs it or I cancel it
      </label>
    </div>
  );
}

/** Why the post button waits for the check, or null when it may post. */
export function preflightBlocker(preflight: Preflight, confirmed: boolean): string | null {
  if (preflight.state === "checked" && preflight.reasons.length && !confirmed) {
    return "No registered provider would run this job: change it, or tick “Post it anyway” above.";
  }
  return null;
}
