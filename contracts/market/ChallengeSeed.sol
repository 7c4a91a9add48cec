// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Blockhash} from "@openzeppelin/contracts/utils/Blockhash.sol";

/// @title Where a job's challenge seed comes from
/// @notice The seed is the hash of the block right after the submission, mixed with the job id:
/// `keccak256(abi.encode(blockhash(submitBlock + 1), jobId))`. Nobody in the job controls it: the provider signed
/// its submission before that block existed, and the submission block's producer (who could grind its own block)
/// does not produce the next one except by chance. `chain/committee.py` mirrors it.
/// @dev The one place the market derives randomness: `vote`, `seedOf`, `committeeOf` and settlement call only
/// these functions. To use a VRF or a randomness beacon instead, keep the three signatures: `seedBlock` becomes
/// the block (or round) from which the beacon's output counts, `readableHash` returns that output once delivered
/// (zero before, which keeps voting closed through `VotingNotOpen` / `SeedUnavailable`), and `seed` mixes it
/// with the job id as now. `prevrandao` is not mixed in: the EVM exposes only the current block's, so a past
/// block's value could be read only by a transaction sent in that very block (see docs/protocol.md, "Seed").
library ChallengeSeed {
    /// @notice The block whose hash seeds a job submitted in `submitBlock`.
    function seedBlock(uint256 submitBlock) internal pure returns (uint256) {
        // a 64-bit block number plus one
        unchecked {
            return submitBlock + 1;
        }
    }

    /// @notice `keccak256(abi.encode(blockHash, jobId))`: the committee and sampling seed.
    function seed(bytes32 blockHash, uint256 jobId) internal pure returns (bytes32) {
        return keccak256(abi.encode(blockHash, jobId));
    }

    /// @notice The seed block's hash, or zero while it cannot be read: before the block is sealed
    /// (`block.number <= seedBlock_`) or once it is older than the chain keeps hashes for.
    function readableHash(uint256 seedBlock_) internal view returns (bytes32) {
        return block.number > seedBlock_ ? Blockhash.blockHash(seedBlock_) : bytes32(0);
    }
}
