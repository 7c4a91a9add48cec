// One job: its terms, timeline, live logs and loss, verification detail and result.
import { useMemo } from "react";
import { Link } from "react-router";
import { AddressLink, Amount, Empty, ErrorBox, Loading, StateBadge } from "../components/common";
import { apiUrl, isNotFound, TERMINAL_STATES, type JobDetailPublic } from "../lib/api";
import { dateTime, duration, mib, relativeTime } from "../lib/format";
import { paths } from "../lib/paths";
import { useJob } from "../lib/queries";
import { foldTimeline, timelineSteps } from "../lib/timeline";
import { useLogStream } from "../lib/useLogStream";
import { ConfidentialBadge, ConfidentialPanel, useConfidentialJob } from "./job/Confidential";
import { JobActions } from "./job/JobActions";
import { LogViewer, LossChart } from "./job/JobLogs";
import { JobTimeline } from "./job/JobTimeline";
import { JobEnergy, SkipReports } from "./job/ProviderReports";
import { Verification } from "./job/Verification";

function Terms({ job }: { job: JobDetailPublic }) {
  const escrow = BigInt(job.budget) + BigInt(job.protocol_fee) + BigInt(job.committee_size) * BigInt(job.validator_fee);
  return (
    <dl className="facts">
      <div>
        <dt>Requester</dt>
        <dd>
          <AddressLink address={job.requester} />
        </dd>
      </div>
      <div>
        <dt>Provider</dt>
        <dd>{job.provider ? <AddressLink address={job.provider} to="provider" /> : <span className="muted">not claimed</span>}</dd>
      </div>
      <div>
        <dt>Budget</dt>
        <dd>
          <Amount units={job.budget} />
          {BigInt(job.reward) > 0n && (
            <span className="muted small">
              {" "}
              + <Amount units={job.reward} /> reward (if a committee majority accepts)
            </span>
          )}
        </dd>
      </div>
      <div>
        <dt>Escrow</dt>
        <dd>
          <Amount units={escrow} />
        </dd>
      </div>
      <div>
        <dt>Protocol fee</dt>
        <dd>
          <Amount units={job.protocol_fee} /> <span className="muted small">burned if accepted, refunded otherwise</span>
        </dd>
      </div>
      <div>
        <dt>Collateral</dt>
        <dd>
          <Amount units={job.collateral} />
        </dd>
      </div>
      <div>
        <dt>Validator fee</dt>
        <dd>
          <Amount units={job.validator_fee} /> × {job.committee_size}
        </dd>
      </div>
      <div>
        <dt>Needs</dt>
        <dd>
          {job.cpu_cores} CPU, {mib(job.memory_mib)} RAM
          {job.gpu_count > 0 && `, ${job.gpu_count} GPU × ${mib(job.gpu_memory_mib)} (class ≥ ${job.gpu_class})`}
        </dd>
      </div>
      <div>
        <dt>Run timeout</dt>
        <dd>
          {duration(job.run_timeout_s)}
          {job.deadline !== null && job.state === "Claimed" && <span className="muted small"> · deadline {relativeTime(job.deadline)}</span>}
        </dd>
      </div>
      <div>
        <dt>Posted</dt>
        <dd title={dateTime(job.posted_at)}>
          block {job.posted_block}
          {job.posted_at !== null && <span className="muted small"> · {relativeTime(job.posted_at)}</span>}
        </dd>
      </div>
      <div>
        <dt>Bundle</dt>
        <dd>{job.bundle_cid ? <a className="mono small" href={apiUrl(`/ipfs/${job.bundle_cid}`)}>{job.bundle_cid}</a> : "—"}</dd>
      </div>
    </dl>
  );
}

function Result({ job, sealed }: { job: JobDetailPublic; sealed: boolean }) {
  if (!job.result_cid) {
    return <Empty title="No result yet">The provider submits the result's CID when training ends.</Empty>;
  }
  return (
    <div className="result">
      <div>
        Result CID <span className="mono">{job.result_cid}</span>
      </div>
      <a className={sealed ? "button" : "button primary"} href={apiUrl(`/ipfs/${job.result_cid}`)} download={`job-${job.id}-result`}>
        {sealed ? "Download the sealed result (ciphertext)" : "Download result"}
      </a>
      {job.state === "Submitted" && <span className="muted small">Verification is still running: wait for acceptance before relying on it.</span>}
    </div>
  );
}

export function JobPage({ id }: { id: number }) {
  // Polled until the job reaches a state it never leaves.
  const { data: job, error, isPending, refetch } = useJob(id);
  const reload = () => void refetch();
  const stream = useLogStream(id, job !== undefined);
  const timeline = useMemo(() => foldTimeline(job?.timeline ?? []), [job?.timeline]);
  const confidential = useConfidentialJob(job).data ?? null;

  if (isPending) return <Loading what={`Loading job ${id}`} />;
  if (!job) {
    if (isNotFound(error)) {
      return (
        <Empty title={`Job ${id} is not in the index`}>
          It may have just been posted: the gateway indexes new blocks within seconds.{" "}
          <button type="button" className="button small" onClick={reload}>
            Check again
          </button>
        </Empty>
      );
    }
    return <ErrorBox error={error} title={`Job ${id} could not be loaded`} onRetry={reload} />;
  }
  const steps = timelineSteps(timeline, {
    committeeSize: job.committee_size,
    mode: job.mode,
    verifyBlocks: job.verify_blocks,
    logsSeen: stream.total > 0,
  });
  return (
    <div className="page">
      <p className="crumbs">
        <Link to={paths.jobs}>Jobs</Link> / #{job.id}
      </p>
      <header className="job-head">
        <h1>
          Job #{job.id} <StateBadge state={job.state} /> {confidential && <ConfidentialBadge />}
        </h1>
        {!TERMINAL_STATES.has(job.state) && <span className="muted small">updates live</span>}
      </header>
      {error !== null && <ErrorBox error={error} title="The last refresh failed; showing what was loaded" />}
      <JobActions job={job} onDone={reload} />
      <section className="card">
        <h2>Timeline</h2>
        <JobTimeline steps={steps} state={timeline} />
      </section>
      {(job.state === "Open" || job.reports.summary) && (
        <section className="card">
          <h2>Why is it not running?</h2>
          <SkipReports job={job} />
        </section>
      )}
      <div className="columns">
        <section className="card">
          <h2>Training loss</h2>
          <LossChart stream={stream} />
        </section>
        <section className="card">
          <h2>Terms</h2>
          <Terms job={job} />
        </section>
      </div>
      <section className="card">
        <h2>Logs</h2>
        <LogViewer stream={stream} />
      </section>
      <section className="card">
        <h2>Verification</h2>
        <Verification job={job} />
      </section>
      {confidential && (
        <section className="card">
          <h2>Confidential job</h2>
          <ConfidentialPanel job={job} confidential={confidential} />
        </section>
      )}
      <section className="card">
        <h2>Result</h2>
        <Result job={job} sealed={confidential !== null} />
      </section>
      <section className="card">
        <h2>Energy and carbon</h2>
        <JobEnergy job={job} />
      </section>
    </div>
  );
}
