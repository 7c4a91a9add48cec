// How the result was checked: the committee as seats, drawn by stake from the roster snapshot taken at
// submission with the seed of the next block. Seat holders sign their votes privately and hand them to the
// gateway; every vote is revealed together by `finalize` (its `VoteCast` events), with the segment each seat
// re-ran and the digests it compared (committed by the provider vs recomputed by the validator). An appeal
// starts the next round with a larger committee, drawn at the appeal's block; the table shows that round.
import { AddressLink, Empty } from "../../components/common";
import type { JobDetailPublic, VotePublic } from "../../lib/api";
import { shortHash, tokenAmount } from "../../lib/format";
import { FINAL_ROUND, roundSeats } from "../../lib/timeline";

/** The seed block (`submitBlock + 1`) and the window's last block (`seed + verify_blocks`). */
export function votingWindow(job: Pick<JobDetailPublic, "submit_block" | "verify_blocks">): { seedBlock: number; windowEnd: number } | null {
  if (job.submit_block === null) return null;
  const seedBlock = job.submit_block + 1;
  return { seedBlock, windowEnd: seedBlock + job.verify_blocks };
}

export interface Seat {
  seat: number;
  /** The revealed vote of this seat (the latest, if a reopened job voted before). */
  vote: VotePublic | null;
}

/** The current round's seats, each with its revealed vote (holders are known only from `VoteCast`). Votes
 * revealed at or before the round's start (an appealed round's, an earlier attempt's) belong to other seats. */
export function committeeSeats(job: Pick<JobDetailPublic, "committee_size" | "round" | "submit_block" | "votes">): Seat[] {
  const latest = new Map<number, VotePublic>();
  const start = job.submit_block ?? -1;
  for (const vote of [...job.votes].sort((a, b) => a.block_number - b.block_number)) {
    if (vote.block_number > start) latest.set(vote.slot, vote);
  }
  return Array.from({ length: roundSeats(job.committee_size, job.round) }, (_, seat) => ({ seat, vote: latest.get(seat) ?? null }));
}

function seatStatus(job: JobDetailPublic, seat: Seat): { text: string; className: string } {
  if (seat.vote) return seat.vote.approve ? { text: "accept", className: "badge badge-good" } : { text: "reject", className: "badge badge-bad" };
  if (job.outcome) return { text: "silent (bond lost)", className: "badge badge-bad" };
  return { text: "signing privately", className: "badge" };
}

export function Verification({ job }: { job: JobDetailPublic }) {
  const optimistic = job.mode.toLowerCase() === "none";
  const window = votingWindow(job);
  const unit = job.mode.toLowerCase() === "shards" ? "shard" : "segment";
  const seats = committeeSeats(job);
  const seatCount = seats.length;
  const revealed = seats.some((seat) => seat.vote !== null);
  return (
    <div className="verification">
      <dl className="facts">
        <div>
          <dt>Mode</dt>
          <dd>
            {job.mode}
            {optimistic ? " (optimistic)" : ""}
          </dd>
        </div>
        <div>
          <dt>Committee</dt>
          <dd>
            {job.round > 0 && `round ${job.round} of ${FINAL_ROUND}: `}
            {seatCount} seat{seatCount === 1 ? "" : "s"}, drawn by stake
            {job.roster_root && (
              <span className="mono small" title={job.roster_root}>
                {" "}
                from roster {shortHash(job.roster_root)}
              </span>
            )}
          </dd>
        </div>
        <div>
          <dt>Samples</dt>
          <dd>{job.samples_per_validator ? `${job.samples_per_validator} ${unit}(s) each` : "whole job"}</dd>
        </div>
        <div>
          <dt>Seed block</dt>
          <dd>{window ? window.seedBlock : "the block after submission"}</dd>
        </div>
        <div>
          <dt>Voting window</dt>
          <dd>{window ? `blocks ${window.seedBlock + 1}–${window.windowEnd}` : `${job.verify_blocks} blocks after the seed block`}</dd>
        </div>
        {job.appeals.length > 0 && (
          <div>
            <dt>Appeals</dt>
            <dd>
              <ul className="appeals">
                {job.appeals.map((appeal) => (
                  <li key={`${appeal.block_number}-${appeal.round}`}>
                    round {appeal.round} ({roundSeats(job.committee_size, appeal.round)} seats) at block {appeal.block_number}, by{" "}
                    <AddressLink address={appeal.appellant} />, bond {tokenAmount(appeal.bond)}
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        )}
        {!optimistic && job.round < FINAL_ROUND && (
          <div>
            <dt>Appeal window</dt>
            <dd>
              {window ? `blocks ${window.windowEnd + 1}–${window.windowEnd + job.verify_blocks}` : `${job.verify_blocks} blocks after the voting window`}
              {" "}(the losing side may appeal to 31, then 193 seats)
            </dd>
          </div>
        )}
        <div>
          <dt>Checkpoints</dt>
          <dd>
            {job.checkpoint_count ?? "—"}
            {job.checkpoint_root && (
              <span className="mono small" title={job.checkpoint_root}>
                {" "}
                root {shortHash(job.checkpoint_root)}
              </span>
            )}
          </dd>
        </div>
        {job.outcome && (
          <div>
            <dt>Tally</dt>
            <dd>
              {job.accepts ?? 0} accept · {job.rejects ?? 0} reject of {seatCount} (a side needs a strict majority)
            </dd>
          </div>
        )}
      </dl>
      <p className="muted small votes-note">
        Votes are signed privately by each seat&apos;s holder and revealed together
        {window ? ` after block ${window.windowEnd}` : ""}: nobody can copy another seat&apos;s vote. The job settles once its appeal window
        {window ? ` (block ${window.windowEnd + job.verify_blocks})` : ""} has passed without an appeal.
      </p>
      {job.submit_block === null ? (
        <Empty title="Nothing to verify yet">Validators re-run sampled work once the provider submits its result.</Empty>
      ) : optimistic || job.committee_size === 0 ? (
        <Empty title="No committee">Optimistic mode: accepted unless validators object.</Empty>
      ) : (
        <table className="table votes">
          <thead>
            <tr>
              <th>Seat</th>
              <th>Holder</th>
              <th>Vote</th>
              <th>{unit === "shard" ? "Shard" : "Segment"} re-run</th>
              <th>Committed digest</th>
              <th>Recomputed digest</th>
              <th>Evidence</th>
            </tr>
          </thead>
          <tbody>
            {seats.map((seat) => {
              const status = seatStatus(job, seat);
              const vote = seat.vote;
              return (
                <tr key={seat.seat}>
                  <td>{seat.seat}</td>
                  <td>{vote ? <AddressLink address={vote.validator} /> : <span className="muted">{revealed || job.outcome ? "—" : "revealed at finalize"}</span>}</td>
                  <td>
                    <span className={status.className}>{status.text}</span>
                  </td>
                  <td>{vote ? vote.segment : "—"}</td>
                  <td className="mono small" title={vote?.committed_digest}>
                    {vote ? shortHash(vote.committed_digest) : "—"}
                  </td>
                  <td className="mono small" title={vote?.recomputed_digest}>
                    {vote ? shortHash(vote.recomputed_digest) : "—"}
                  </td>
                  <td>
                    {!vote ? "—" : vote.committed_digest === vote.recomputed_digest ? <span className="good">digests match</span> : <span className="bad">digests differ</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
