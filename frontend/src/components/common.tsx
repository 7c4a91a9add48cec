// Small pieces every page uses: loading, error and empty states, badges, addresses, amounts, progress.
import type { ReactNode } from "react";
import { Link } from "react-router";
import { ApiError } from "../lib/api";
import { shortAddress, tokenAmount } from "../lib/format";
import { explainError } from "../lib/revert";
import { paths } from "../lib/paths";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {what}…
    </div>
  );
}

function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) return "The gateway could not be reached.";
  return explainError(error);
}

export function ErrorBox({ error, title = "Something went wrong", onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <strong>{title}</strong>
      <p>{errorText(error)}</p>
      {onRetry && (
        <button type="button" className="button small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <div>{children}</div>}
    </div>
  );
}

const STATE_TONES: Record<string, string> = {
  Open: "info",
  Claimed: "warn",
  Submitted: "warn",
  Accepted: "good",
  Rejected: "bad",
  Expired: "bad",
  Released: "bad",
  Unverified: "neutral",
  Cancelled: "neutral",
};

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge badge-${STATE_TONES[state] ?? "neutral"}`}>{state}</span>;
}

export function AddressLink({ address, to }: { address: string | null | undefined; to?: "provider" }) {
  if (!address) return <span className="muted">—</span>;
  const text = <span className="mono" title={address}>{shortAddress(address)}</span>;
  return to === "provider" ? <Link to={paths.provider(address)}>{text}</Link> : text;
}

export function Amount({ units }: { units: string | bigint | null | undefined }) {
  if (units === null || units === undefined) return <span className="muted">—</span>;
  return <span className="amount">{tokenAmount(units)}</span>;
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const percent = Math.max(0, Math.min(100, Math.round(value * 100)));
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuenow={percent} aria-valuemin={0} aria-valuemax={100}>
      <div className="progress-fill" style={{ width: `${percent}%` }} />
      <span className="progress-text">
        {label} {percent}%
      </span>
    </div>
  );
}

export function Field({ label, error, hint, children }: { label: string; error?: string | undefined; hint?: ReactNode; children: ReactNode }) {
  return (
    <label className={`field${error ? " field-invalid" : ""}`}>
      <span className="field-label">{label}</span>
      {children}
      {error ? <span className="field-error">{error}</span> : hint ? <span className="field-hint">{hint}</span> : null}
    </label>
  );
}

export function Stat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="stat">
      <div className="stat-value">{children}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}
