// How the result was checked: the committee, each validator's vote, the segment it re-ran and the
// digests it compared (committed by the provider vs recomputed by the validator).
import { AddressLink, Empty } from "../../components/common";
import type { JobDetailPublic, VotePublic } from "../../lib/api";
import { shortHash } from "../../lib/format";
import { votingWindow } from "../../lib/timeline";

function bySlot(votes: VotePublic[]): VotePublic[] {
  return [...votes].sort((a, b) => a.slot - b.slot || a.block_number - b.block_number);
}

export function Verification({ job }: { job: JobDetailPublic }) {
  const optimistic = job.mode.toLowerCase() === "none";
  const voting = job.submit_block !== null ? votingWindow(job.submit_block, job.verify_blocks) : null;
  const windowText = voting
    ? `blocks ${voting.first}–${voting.last} (seeded by block ${voting.seedBlock})`
    : `${job.verify_blocks} blocks after the block that follows the submission`;
  const unit = job.mode.toLowerCase() === "shards" ? "shard" : "segment";
  return (
    <div className="verification">
      <dl className="facts">
        <div>
          <dt>Mode</dt>
          <dd>{job.mode}{optimistic ? " (optimistic)" : ""}</dd>
        </div>
        <div>
          <dt>Committee</dt>
          <dd>
            {job.committee_size} validator{job.committee_size === 1 ? "" : "s"}
            {job.validator_count !== null ? ` drawn from ${job.validator_count}` : ""}
          </dd>
        </div>
        <div>
          <dt>Samples</dt>
          <dd>{job.samples_per_validator ? `${job.samples_per_validator} ${unit}(s) each` : "whole job"}</dd>
        </div>
        <div>
          <dt>Voting window</dt>
          <dd>{windowText}</dd>
        </div>
        <div>
          <dt>Checkpoints</dt>
          <dd>
            {job.checkpoint_count ?? "—"}
            {job.checkpoint_root && <span className="mono small" title={job.checkpoint_root}> root {shortHash(job.checkpoint_root)}</span>}
          </dd>
        </div>
        {job.outcome && (
          <div>
            <dt>Tally</dt>
            <dd>
              {job.accepts ?? 0} accept · {job.rejects ?? 0} reject
            </dd>
          </div>
        )}
      </dl>
      {job.votes.length === 0 ? (
        <Empty title={job.submit_block === null ? "Nothing to verify yet" : "No votes yet"}>
          {job.submit_block === null
            ? "Validators re-run sampled work once the provider submits its result."
            : "Committee validators are re-running their sampled work."}
        </Empty>
      ) : (
        <table className="table votes">
          <thead>
            <tr>
              <th>Slot</th>
              <th>Validator</th>
              <th>Vote</th>
              <th>{unit === "shard" ? "Shard" : "Segment"} re-run</th>
              <th>Committed digest</th>
              <th>Recomputed digest</th>
              <th>Evidence</th>
            </tr>
          </thead>
          <tbody>
            {bySlot(job.votes).map((vote) => {
              const match = vote.committed_digest === vote.recomputed_digest;
              return (
                <tr key={`${vote.slot}-${vote.tx_hash}`}>
                  <td>{vote.slot}</td>
                  <td>
                    <AddressLink address={vote.validator} />
                  </td>
                  <td>
                    <span className={`badge ${vote.approve ? "badge-good" : "badge-bad"}`}>{vote.approve ? "accept" : "reject"}</span>
                  </td>
                  <td>{vote.segment}</td>
                  <td className="mono small" title={vote.committed_digest}>
                    {shortHash(vote.committed_digest)}
                  </td>
                  <td className="mono small" title={vote.recomputed_digest}>
                    {shortHash(vote.recomputed_digest)}
                  </td>
                  <td>{match ? <span className="good">digests match</span> : <span className="bad">digests differ</span>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
