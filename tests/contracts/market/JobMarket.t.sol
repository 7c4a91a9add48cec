// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {
    Capabilities,
    Capability,
    Job,
    JobSpec,
    JobSpecField,
    Evidence,
    JobStatus,
    MAX_COMMITTEE_SIZE,
    Role,
    VerificationMode,
    VoteReason
} from "../../../contracts/market/Types.sol";
import {Ballot} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice Claiming, submitting (the roster snapshot), committee sizes at post, the seed, the vote digest and the views.
contract JobMarketTest is Fixture {
    // ------------------------------------------------------------------ claimJob

    function test_claimJob_locksCollateralAndSetsDeadline() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        uint64 deadline = uint64(_now()) + job.spec.runTimeout;
        vm.expectEmit(address(market));
        emit IJobMarket.JobClaimed(jobId, provider, deadline);
        job = _claim(jobId, job, provider);

        assertEq(job.state.deadline, deadline, "deadline");
        assertEq(_account(provider).locked, job.spec.collateral, "locked");
        assertEq(market.hashJob(job), keccak256(abi.encode(job)), "hash");
        assertEq(uint256(market.jobWord(jobId)) >> 24, uint256(keccak256(abi.encode(job))) >> 24, "word");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Claimed), "status");
    }

    function test_claimJob_revertsForNonProvider() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.AccountNotInRole.selector, validators[0], Role.Validator, Role.Provider)
        );
        vm.prank(validators[0]);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsWhenStakeTooLow() public {
        address small = address(0x5A11);
        _registerProvider(small, _caps());
        _stakeAs(small, MIN_PROVIDER_STAKE - 1);
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.expectRevert(
            abi.encodeWithSelector(
                IStaking.StakeBelowMinimum.selector, small, MIN_PROVIDER_STAKE - 1, MIN_PROVIDER_STAKE
            )
        );
        vm.prank(small);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsWhenFreeStakeBelowCollateral() public {
        JobSpec memory spec = _spec();
        spec.collateral = PROVIDER_STAKE - 100e18;
        (uint256 firstId, Job memory first) = _post(spec);
        _claim(firstId, first, provider);
        (uint256 jobId, Job memory job) = _post(spec);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.InsufficientFreeStake.selector, provider, 100e18, spec.collateral)
        );
        vm.prank(provider);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsForEachMissingCapability() public {
        Capabilities memory caps = _caps();
        for (uint8 which; which < 5; ++which) {
            JobSpec memory spec = _spec();
            uint256 required;
            uint256 offered;
            if (which == uint8(Capability.GpuCount)) (spec.gpuCount, offered) = (caps.gpuCount + 1, caps.gpuCount);
            if (which == uint8(Capability.GpuMemory)) {
                (spec.gpuMemoryMiB, offered) = (caps.gpuMemoryMiB + 1, caps.gpuMemoryMiB);
            }
            if (which == uint8(Capability.GpuClass)) (spec.gpuClass, offered) = (caps.gpuClass + 1, caps.gpuClass);
            if (which == uint8(Capability.CpuCores)) (spec.cpuCores, offered) = (caps.cpuCores + 1, caps.cpuCores);
            if (which == uint8(Capability.Memory)) (spec.memoryMiB, offered) = (caps.memoryMiB + 1, caps.memoryMiB);
            required = offered + 1;
            (uint256 jobId, Job memory job) = _post(spec);
            vm.expectRevert(
                abi.encodeWithSelector(
                    IJobMarket.ProviderLacksCapability.selector, jobId, provider, Capability(which), required, offered
                )
            );
            vm.prank(provider);
            market.claimJob(jobId, job);
        }
    }

    function test_claimJob_revertsForRequester() public {
        _registerProvider(requester, _caps());
        _stakeAs(requester, PROVIDER_STAKE);
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.RequesterCannotClaim.selector, jobId, requester));
        vm.prank(requester);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsWhenAlreadyClaimed() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _claim(jobId, job, provider);
        _expectStatus(jobId, JobStatus.Claimed, JobStatus.Open);
        vm.prank(otherProvider);
        market.claimJob(jobId, job);
    }

    function test_claimJob_revertsOnDataMismatch() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job.spec.collateral = 0; // a provider trying to lock less than asked
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobDataMismatch.selector, jobId));
        vm.prank(provider);
        market.claimJob(jobId, job);
    }

    // ------------------------------------------------------------------ submitResult

    function test_submitResult_recordsSubmission() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectEmit(address(market));
        emit IJobMarket.ResultSubmitted(
            jobId, provider, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT, market.rosterRoot()
        );
        job = _submit(jobId, job);
        assertEq(job.state.submitBlock, _block(), "submit block");
        assertEq(uint256(market.jobWord(jobId)) >> 24, uint256(keccak256(abi.encode(job))) >> 24, "word");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Submitted), "status");
    }

    function test_submitResult_revertsForOtherCaller() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotJobProvider.selector, jobId, otherProvider, provider));
        vm.prank(otherProvider);
        market.submitResult(jobId, job, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    function test_submitResult_revertsAfterDeadline() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        _wait(job.spec.runTimeout + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SubmitDeadlinePassed.selector, jobId, job.state.deadline));
        vm.prank(provider);
        market.submitResult(jobId, job, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    function test_submitResult_acceptsAtTheDeadline() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        _wait(job.spec.runTimeout);
        _submit(jobId, job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Submitted), "status");
    }

    function test_submitResult_revertsOnEmptyResult() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.EmptyResult.selector, jobId));
        vm.prank(provider);
        market.submitResult(jobId, job, 0, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    function test_submitResult_revertsWhenOpen() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _expectStatus(jobId, JobStatus.Open, JobStatus.Claimed);
        vm.prank(provider);
        market.submitResult(jobId, job, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    function test_submitResult_snapshotsTheRosterRoot() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        bytes32 roster = market.rosterRoot();
        assertTrue(roster != 0, "a roster exists");
        vm.expectEmit(address(market));
        emit IJobMarket.ResultSubmitted(
            jobId, provider, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT, roster
        );
        job = _submit(jobId, job);
        assertEq(job.state.rosterRoot, roster, "snapshot");

        // Stake that arrives after the submission is not in the snapshot.
        _addValidator(0xBEEF, VALIDATOR_STAKE);
        assertTrue(market.rosterRoot() != roster, "roster moved");
        assertEq(uint256(market.jobWord(jobId)) >> 24, uint256(keccak256(abi.encode(job))) >> 24, "word kept");
    }

    function test_submitResult_snapshotsNoRosterInModeNone() public {
        JobSpec memory spec = _spec();
        (spec.mode, spec.committeeSize) = (VerificationMode.None, 0);
        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, provider);
        vm.expectEmit(address(market));
        emit IJobMarket.ResultSubmitted(
            jobId, provider, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT, bytes32(0)
        );
        job = _submit(jobId, job);
        assertEq(job.state.rosterRoot, bytes32(0), "no snapshot");
        assertEq(uint256(market.jobWord(jobId)) >> 24, uint256(keccak256(abi.encode(job))) >> 24, "word");
    }

    function test_submitResult_revertsOnDataMismatch() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job.state.rosterRoot = market.rosterRoot(); // state that only the submission may set
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobDataMismatch.selector, jobId));
        vm.prank(provider);
        market.submitResult(jobId, job, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
    }

    // ------------------------------------------------------------------ committee size at post

    function test_postJob_acceptsEveryOddCommitteeSize() public {
        for (uint8 size = 1; size <= MAX_COMMITTEE_SIZE; size += 2) {
            JobSpec memory spec = _spec();
            spec.committeeSize = size;
            spec.collateral = uint96(size) * spec.validatorFee + spec.budget / 10; // and the collateral ratio
            (uint256 jobId,) = _post(spec);
            assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "posted");
        }
    }

    function test_postJob_revertsForEvenCommitteeSizes() public {
        for (uint8 size = 0; size <= MAX_COMMITTEE_SIZE + 1; size += 2) {
            JobSpec memory spec = _spec();
            spec.committeeSize = size;
            spec.collateral = uint96(size) * spec.validatorFee + spec.budget / 10; // and the collateral ratio
            _expectInvalidSpec(spec, JobSpecField.CommitteeSize, size, MAX_COMMITTEE_SIZE);
        }
    }

    function test_postJob_revertsForCommitteeInModeNone() public {
        JobSpec memory spec = _spec();
        (spec.mode, spec.committeeSize) = (VerificationMode.None, 1);
        _expectInvalidSpec(spec, JobSpecField.CommitteeSize, 1, 0);
    }

    // ------------------------------------------------------------------ seed and vote digest

    function test_seedOf_hashesTheBlockAfterTheSubmission() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        bytes32 expected = keccak256(abi.encode(blockhash(job.state.submitBlock + 1), jobId));
        assertTrue(blockhash(job.state.submitBlock + 1) != 0, "seed block mined");
        assertEq(market.seedOf(jobId, job), expected, "seed");
        assertTrue(expected != keccak256(abi.encode(blockhash(job.state.submitBlock), jobId)), "not the submit block");
    }

    function test_seedOf_revertsUntilTheSeedBlockIsMined() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        uint256 seedBlock = job.state.submitBlock + 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeedUnavailable.selector, jobId, seedBlock));
        market.seedOf(jobId, job);
        _mine(1); // the seed block is now the current one: its hash is not known yet
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeedUnavailable.selector, jobId, seedBlock));
        market.seedOf(jobId, job);
        _mine(1);
        assertEq(market.seedOf(jobId, job), keccak256(abi.encode(blockhash(seedBlock), jobId)), "readable");
    }

    function test_seedOf_revertsWhenNotSubmitted() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _expectStatus(jobId, JobStatus.Open, JobStatus.Submitted);
        market.seedOf(jobId, job);
    }

    function testFuzz_voteDigest_isEip712OverTheVoteType(
        uint256 jobId,
        uint8 round,
        bytes32 resultHash,
        uint8 seat,
        bool approve,
        uint32 segment,
        bytes32 committed,
        uint8 reasonIndex
    ) public view {
        Evidence memory evidence =
            Evidence(segment, committed, keccak256(abi.encode(committed)), VoteReason(reasonIndex % 4));
        bytes32 expected = keccak256(
            abi.encodePacked("\x19\x01", _domain(), _voteStruct(jobId, round, resultHash, seat, approve, evidence))
        );
        assertEq(market.voteDigest(jobId, round, resultHash, seat, approve, evidence), expected, "digest");
    }

    function _domain() private view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("CrowdMarket"),
                keccak256("2"),
                block.chainid,
                address(market)
            )
        );
    }

    function _voteStruct(
        uint256 jobId,
        uint8 round,
        bytes32 resultHash,
        uint8 seat,
        bool approve,
        Evidence memory evidence
    ) private pure returns (bytes32) {
        bytes32 typeHash = keccak256(
            "Vote(uint256 jobId,uint8 round,bytes32 resultHash,uint8 seat,bool approve,uint32 segment,bytes32 committedDigest,bytes32 recomputedDigest,uint8 reason)"
        );
        return keccak256(
            abi.encode(
                typeHash,
                jobId,
                round,
                resultHash,
                seat,
                approve,
                evidence.segment,
                evidence.committedDigest,
                evidence.recomputedDigest,
                evidence.reason
            )
        );
    }

    // ------------------------------------------------------------------ views

    function test_statusOf_followsTheLifecycle() public {
        assertEq(uint8(market.statusOf(0)), uint8(JobStatus.None), "id zero");
        (uint256 jobId, Job memory job) = _post(_spec());
        assertEq(uint8(market.statusOf(jobId + 1)), uint8(JobStatus.None), "future id");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "open");
        job = _claim(jobId, job, provider);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Claimed), "claimed");
        job = _submit(jobId, job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Submitted), "submitted");
        _mine(2);
        _finalize(jobId, job, _ballots(Ballot.Approve, 3));
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function testFuzz_hashJob_isKeccakOfEncoding(
        address who,
        uint96 budget,
        bytes32 digest,
        uint64 deadline,
        uint16 attempts,
        bytes32 resultHash
    ) public view {
        Job memory job;
        job.spec = _spec();
        (job.spec.requester, job.spec.budget, job.spec.bundleDigest) = (who, budget, digest);
        (job.state.provider, job.state.deadline, job.state.attempts) = (who, deadline, attempts);
        job.state.resultHash = resultHash;
        assertEq(market.hashJob(job), keccak256(abi.encode(job)), "hash");
    }

    // ------------------------------------------------------------------ helpers

    function _expectInvalidSpec(JobSpec memory spec, JobSpecField field, uint256 value, uint256 limit) private {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidJobSpec.selector, field, value, limit));
        vm.prank(requester);
        market.postJob(spec);
    }

    function _expectStatus(uint256 jobId, JobStatus actual, JobStatus expected) private {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, actual, expected));
    }
}
