// @vitest-environment happy-dom
import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import type { JobDetailPublic, VotePublic } from "../src/lib/api";
import { Verification, committeeSeats, votingWindow } from "../src/pages/job/Verification";

const A = "0x" + "a1".repeat(20);
const B = "0x" + "b2".repeat(20);
const ROSTER = "0x" + "5a".repeat(32);
const DIGEST = "0x" + "08".repeat(32);

function job(overrides: Partial<JobDetailPublic> = {}): JobDetailPublic {
  return {
    id: 7,
    state: "Submitted",
    requester: A,
    provider: B,
    bundle_cid: null,
    budget: "10",
    protocol_fee: "0",
    reward: "1",
    collateral: "5",
    validator_fee: "1",
    gpu_count: 0,
    gpu_memory_mib: 0,
    gpu_class: 0,
    cpu_cores: 1,
    memory_mib: 1024,
    run_timeout_s: 900,
    mode: "Segments",
    committee_size: 3,
    samples_per_validator: 2,
    verify_blocks: 20,
    reopen_on_failure: false,
    result_key: `0x${"00".repeat(32)}`,
    attempts: 0,
    deadline: 1_900_000_000,
    round: 0,
    submit_block: 100,
    roster_root: ROSTER,
    result_cid: null,
    checkpoint_root: null,
    checkpoint_count: 4,
    outcome: null,
    accepts: null,
    rejects: null,
    posted_block: 90,
    posted_at: null,
    updated_block: 100,
    updated_at: null,
    timeline: [],
    votes: [],
    appeals: [],
    reports: { summary: null, skips: [], energy: [] },
    ...overrides,
  };
}

function vote(slot: number, validator: string, approve: boolean): VotePublic {
  return { validator, slot, approve, segment: slot, committed_digest: DIGEST, recomputed_digest: DIGEST, block_number: 125, tx_hash: "0x" + "01".repeat(32) };
}

const show = (detail: JobDetailPublic) =>
  render(
    <MemoryRouter>
      <Verification job={detail} />
    </MemoryRouter>,
  );

describe("the verification panel", () => {
  it("shows the seed block and the window: the block after submission, then verify_blocks more", () => {
    expect(votingWindow(job())).toEqual({ seedBlock: 101, windowEnd: 121 });
    expect(votingWindow(job({ submit_block: null }))).toBeNull();
  });

  it("shows the committee as seats still signing privately, with no vote before finalize", () => {
    show(job());
    expect(screen.getByText(/3 seats, drawn by stake/)).toBeTruthy();
    expect(screen.getByText("101")).toBeTruthy();
    expect(screen.getByText("blocks 102–121")).toBeTruthy();
    expect(screen.getByText(/signed privately .* revealed together after block 121/)).toBeTruthy();
    expect(screen.getAllByText("signing privately")).toHaveLength(3);
    expect(screen.queryByText("accept")).toBeNull();
  });

  it("names each seat's holder from the revealed votes, and the silent seats once finalized", () => {
    const votes = [vote(2, A, false), vote(0, B, true)];
    show(job({ state: "Unverified", outcome: "Unverified", accepts: 1, rejects: 1, votes }));
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows.map((row) => row.textContent?.slice(0, 1))).toEqual(["0", "1", "2"]);
    expect(rows[0]!.textContent).toContain("accept");
    expect(rows[1]!.textContent).toContain("silent (bond lost)");
    expect(rows[2]!.textContent).toContain("reject");
    expect(screen.getByText(/1 accept · 1 reject of 3/)).toBeTruthy();
  });

  it("keeps the latest vote of a seat", () => {
    const seats = committeeSeats({ committee_size: 1, round: 0, submit_block: 100, votes: [{ ...vote(0, A, true), block_number: 200 }, vote(0, B, false)] });
    expect(seats).toEqual([{ seat: 0, vote: expect.objectContaining({ validator: A, approve: true }) }]);
  });

  it("shows an appeal round: its 31 seats, the appeal, and no vote of the appealed round in its seats", () => {
    const appealed = [vote(0, A, false), vote(1, B, false), vote(2, A, false)].map((v) => ({ ...v, block_number: 130 }));
    const appeal = { round: 1, appellant: B, bond: "31000000000000000000", attempt: 0, roster_root: ROSTER, block_number: 130, tx_hash: "0x" + "02".repeat(32) };
    show(job({ round: 1, submit_block: 130, votes: appealed, appeals: [appeal] }));
    expect(screen.getByText(/round 1 of 2: 31 seats, drawn by stake/)).toBeTruthy();
    expect(screen.getByText(/round 1 \(31 seats\) at block 130, by/).textContent).toContain("bond 31 CROWD");
    expect(screen.getAllByText("signing privately")).toHaveLength(31);
    expect(screen.getByText("blocks 132–151")).toBeTruthy();
  });

  it("offers no appeal window in the final round", () => {
    show(job({ round: 2, submit_block: 300 }));
    expect(screen.getByText(/round 2 of 2: 193 seats/)).toBeTruthy();
    expect(screen.queryByText("Appeal window")).toBeNull();
  });
});
