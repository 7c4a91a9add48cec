// The job's steps for the current attempt, and a line per earlier attempt of a reopened job.
import { AddressLink } from "../../components/common";
import { dateTime, relativeTime } from "../../lib/format";
import type { TimelineState, TimelineStep } from "../../lib/timeline";

const ICONS: Record<TimelineStep["status"], string> = {
  done: "✓",
  current: "●",
  pending: "○",
  failed: "✕",
  skipped: "–",
};

function StepDetail({ step }: { step: TimelineStep }) {
  // "by 0x..." names the provider: show it as a link.
  const by = /^by (0x[0-9a-fA-F]{40})$/.exec(step.detail);
  if (by) {
    return (
      <>
        by <AddressLink address={by[1]} to="provider" />
      </>
    );
  }
  return <>{step.detail}</>;
}

export function JobTimeline({ steps, state }: { steps: TimelineStep[]; state: TimelineState }) {
  return (
    <div className="timeline-wrap">
      <ol className="timeline" aria-label="Job timeline">
        {steps.map((step) => (
          <li key={step.key} className={`tl-step tl-${step.status}`}>
            <span className="tl-icon" aria-hidden="true">
              {ICONS[step.status]}
            </span>
            <div className="tl-body">
              <div className="tl-title">
                {step.title}
                <span className="visually-hidden"> ({step.status})</span>
              </div>
              {step.detail && (
                <div className="tl-detail">
                  <StepDetail step={step} />
                </div>
              )}
              {step.at !== null && (
                <div className="tl-time" title={dateTime(step.at)}>
                  {relativeTime(step.at)}
                </div>
              )}
            </div>
          </li>
        ))}
      </ol>
      {state.earlier.length > 0 && (
        <ul className="attempts">
          {state.earlier.map((attempt) => (
            <li key={attempt.attempt}>
              Attempt {attempt.attempt + 1}: {attempt.endedBy.toLowerCase()}
              {attempt.provider && (
                <>
                  {" "}
                  (provider <AddressLink address={attempt.provider} to="provider" />)
                </>
              )}
              , then reopened {relativeTime(attempt.at)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
