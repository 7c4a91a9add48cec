// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Evidence, ROSTER_DEPTH} from "./Types.sol";

/// @notice How a committee seat voted: not at all, for the result, or against it.
enum Ballot {
    Silent,
    Approve,
    Reject
}

/// @notice One committee seat as `finalize` receives it: who holds it (proven against the job's roster snapshot)
/// and, unless silent, the holder's EIP-712 signature over its vote. Calldata only; never stored.
struct SeatVote {
    uint16 leaf; // the holder's leaf in the roster snapshot
    address validator; // the holder
    uint96 weight; // the holder's weight in the snapshot
    bytes32[ROSTER_DEPTH] siblings; // the leaf's siblings, bottom up (`Roster.verify`)
    Ballot ballot;
    Evidence evidence; // what the holder reports; signed with the vote
    bytes32 r; // EIP-2098 compact signature of `Vote(...)` by `validator`; zero when silent
    bytes32 vs;
}
