// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EncodedJob, JobCodec} from "../../../contracts/market/JobCodec.sol";
import {Job, JobSpec, JobStatus, VerificationMode} from "../../../contracts/market/Types.sol";
import {Test} from "../utils/Test.sol";

/// @notice The stored word's layout and the in-memory job encoding.
contract JobCodecTest is Test {
    function testFuzz_word_packsHashAndStatus(bytes32 digest, uint8 status) public pure {
        JobStatus jobStatus = JobStatus(status % 5);
        bytes32 word = JobCodec.word(digest, jobStatus);
        assertEq(uint256(word) >> 24, uint256(digest) >> 24, "hash bits");
        assertEq((uint256(word) >> 8) & 0xffff, 0, "bits between are zero");
        assertEq(uint8(JobCodec.status(word)), uint8(jobStatus), "status");
        assertTrue(JobCodec.matches(word, digest), "matches its digest");
    }

    function testFuzz_matches_rejectsAnyOtherHash(bytes32 digest, bytes32 other) public pure {
        vm.assume(uint256(digest) >> 24 != uint256(other) >> 24);
        assertTrue(!JobCodec.matches(JobCodec.word(digest, JobStatus.Open), other), "different hash");
    }

    function test_copy_hashesLikeAbiEncode() public view {
        Job memory job = _job();
        assertEq(this.hashOfCopy(job), keccak256(abi.encode(job)), "copy hash");
        assertEq(this.hashOfCalldata(job), keccak256(abi.encode(job)), "calldata hash");
    }

    function test_accessors_readEveryField() public view {
        Job memory job = _job();
        this.checkAccessors(job);
    }

    function test_fromSpec_appendsZeroState() public view {
        Job memory job = _job();
        Job memory fresh;
        fresh.spec = job.spec;
        assertEq(this.hashFromSpec(job.spec), keccak256(abi.encode(fresh)), "fresh job hash");
    }

    function test_isCanonicalSpec_acceptsCleanSpec() public view {
        assertTrue(this.canonical(abi.encode(_job().spec)), "clean");
    }

    function test_isCanonicalSpec_flagsEveryOversizedField() public view {
        // Word index of each checked field and the lowest value that does not fit its type.
        uint256[15] memory words = [uint256(1), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18];
        uint256[15] memory tooBig = [
            uint256(1) << 96,
            1 << 8,
            1 << 8,
            1 << 32,
            1 << 8,
            1 << 16,
            1 << 32,
            1 << 96,
            1 << 32,
            4,
            1 << 8,
            1 << 8,
            1 << 16,
            1 << 96,
            2
        ];
        for (uint256 i; i < 15; ++i) {
            bytes memory encoded = abi.encode(_job().spec);
            uint256 value = tooBig[i];
            uint256 offset = 32 * (words[i] + 1);
            assembly ("memory-safe") {
                mstore(add(encoded, offset), value)
            }
            assertTrue(!this.canonical(encoded), "oversized field flagged");
        }
    }

    function test_resetState_keepsSpecAndAttempts() public view {
        Job memory job = _job();
        Job memory reopened;
        reopened.spec = job.spec;
        reopened.state.attempts = 2;
        assertEq(this.hashAfterReset(job, 2), keccak256(abi.encode(reopened)), "reset");
    }

    // ------------------------------------------------------------------ calldata harness

    function hashOfCopy(Job calldata job) external pure returns (bytes32) {
        return JobCodec.copy(job).hash();
    }

    function hashOfCalldata(Job calldata job) external pure returns (bytes32) {
        return JobCodec.hashCalldata(job);
    }

    function hashFromSpec(JobSpec calldata spec) external pure returns (bytes32) {
        return JobCodec.fromSpec(spec).hash();
    }

    function hashAfterReset(Job calldata job, uint16 attempts) external pure returns (bytes32) {
        EncodedJob encoded = JobCodec.copy(job);
        encoded.resetState(attempts);
        return encoded.hash();
    }

    /// @dev Takes raw words so that non-canonical encodings reach the codec.
    function canonical(bytes calldata specWords) external pure returns (bool) {
        JobSpec calldata spec;
        assembly ("memory-safe") {
            spec := specWords.offset
        }
        return JobCodec.fromSpec(spec).isCanonicalSpec();
    }

    function checkAccessors(Job calldata job) external pure {
        EncodedJob e = JobCodec.copy(job);
        assertEq(e.requester(), job.spec.requester, "requester");
        assertEq(e.budget(), job.spec.budget, "budget");
        assertEq(e.bundleDigest(), job.spec.bundleDigest, "digest");
        assertEq(e.gpuCount(), job.spec.gpuCount, "gpuCount");
        assertEq(e.gpuMemoryMiB(), job.spec.gpuMemoryMiB, "gpuMemory");
        assertEq(e.gpuClass(), job.spec.gpuClass, "gpuClass");
        assertEq(e.cpuCores(), job.spec.cpuCores, "cpuCores");
        assertEq(e.memoryMiB(), job.spec.memoryMiB, "memory");
        assertEq(e.collateral(), job.spec.collateral, "collateral");
        assertEq(e.runTimeout(), job.spec.runTimeout, "runTimeout");
        assertEq(uint8(e.mode()), uint8(job.spec.mode), "mode");
        assertEq(e.committeeSize(), job.spec.committeeSize, "committee");
        assertEq(e.samplesPerValidator(), job.spec.samplesPerValidator, "samples");
        assertEq(e.verifyBlocks(), job.spec.verifyBlocks, "verifyBlocks");
        assertEq(e.validatorFee(), job.spec.validatorFee, "fee");
        assertEq(e.reward(), job.spec.reward, "reward");
        assertEq(e.protocolFee(), job.spec.protocolFee, "protocolFee");
        assertEq(e.reopenOnFailure(), job.spec.reopenOnFailure, "reopen");
        assertEq(e.resultKey(), job.spec.resultKey, "resultKey");
        assertEq(e.provider(), job.state.provider, "provider");
        assertEq(e.deadline(), job.state.deadline, "deadline");
        assertEq(e.submitBlock(), job.state.submitBlock, "submitBlock");
        assertEq(e.rosterRoot(), job.state.rosterRoot, "rosterRoot");
        assertEq(e.attempts(), job.state.attempts, "attempts");
        assertEq(
            e.fullEscrow(),
            uint256(job.spec.budget) + job.spec.protocolFee + uint256(job.spec.committeeSize) * job.spec.validatorFee,
            "escrow"
        );
    }

    function _job() private pure returns (Job memory job) {
        job.spec = JobSpec({
            requester: address(0xA1),
            budget: 1e18,
            bundleDigest: keccak256("b"),
            bundleCodec: 0x70,
            gpuCount: 2,
            gpuMemoryMiB: 3,
            gpuClass: 4,
            cpuCores: 5,
            memoryMiB: 6,
            collateral: 7,
            runTimeout: 8,
            mode: VerificationMode.Shards,
            committeeSize: 3,
            samplesPerValidator: 9,
            verifyBlocks: 10,
            validatorFee: 11,
            reward: 12,
            protocolFee: 16,
            reopenOnFailure: true,
            resultKey: keccak256("result key")
        });
        job.state.provider = address(0xB2);
        job.state.deadline = 13;
        job.state.submitBlock = 14;
        job.state.rosterRoot = keccak256("roster");
        job.state.attempts = 1;
        job.state.resultHash = keccak256("r");
    }
}
