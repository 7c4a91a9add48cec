// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IKeyRelease} from "../../../contracts/interfaces/IKeyRelease.sol";
import {Job, JobSpec, JobStatus} from "../../../contracts/market/Types.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice `KeyRelease` and the market's `releaseClaim`: keys, seals, the key window and their refusals.
contract KeyReleaseTest is Fixture {
    IKeyRelease private keys;

    function setUp() public override {
        super.setUp();
        keys = IKeyRelease(market.keyRelease());
    }

    function test_keyRelease_isDeployedByTheMarketForItself() public view {
        assertTrue(address(keys) != address(0), "deployed");
        assertEq(keys.market(), address(market), "serves the market");
    }

    function test_setEncryptionKey_publishesAndReplacesTheKey() public {
        assertEq(keys.encryptionKeyOf(provider), bytes32(0), "none yet");
        vm.expectEmit(address(keys));
        emit IKeyRelease.EncryptionKeySet(provider, bytes32(uint256(1)));
        vm.prank(provider);
        keys.setEncryptionKey(bytes32(uint256(1)));
        vm.prank(provider);
        keys.setEncryptionKey(bytes32(uint256(2)));
        assertEq(keys.encryptionKeyOf(provider), bytes32(uint256(2)), "the newest");
    }

    function test_setEncryptionKey_revertsOnZero() public {
        vm.expectRevert(IKeyRelease.InvalidEncryptionKey.selector);
        keys.setEncryptionKey(bytes32(0));
    }

    function test_publishKeys_emitsOneSealPerRecipient() public {
        address[] memory recipients = new address[](2);
        recipients[0] = validators[0];
        recipients[1] = validators[1];
        bytes[] memory seals = new bytes[](2);
        seals[0] = hex"01";
        seals[1] = new bytes(256);
        vm.expectEmit(address(keys));
        emit IKeyRelease.KeySealed(7, provider, validators[0], hex"01");
        vm.expectEmit(address(keys));
        emit IKeyRelease.KeySealed(7, provider, validators[1], new bytes(256));
        vm.prank(provider);
        keys.publishKeys(7, recipients, seals);
    }

    function test_publishKeys_revertsOnCountMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IKeyRelease.SealedKeyCountMismatch.selector, 1, 0));
        keys.publishKeys(1, new address[](1), new bytes[](0));
    }

    function testFuzz_publishKeys_acceptsOnlySealsOf1To256Bytes(uint256 length) public {
        length = length % 400;
        address[] memory recipients = new address[](1);
        bytes[] memory seals = new bytes[](1);
        seals[0] = new bytes(length);
        if (length == 0 || length > 256) {
            vm.expectRevert(abi.encodeWithSelector(IKeyRelease.InvalidSealedKey.selector, length));
        }
        keys.publishKeys(1, recipients, seals);
    }

    function testFuzz_releaseKey_acceptsOnlySealsOf1To256Bytes(uint256 length) public {
        length = length % 400;
        (uint256 jobId, Job memory job) = _claimedConfidential();
        if (length == 0 || length > 256) {
            vm.expectRevert(abi.encodeWithSelector(IKeyRelease.InvalidSealedKey.selector, length));
        }
        vm.prank(requester);
        keys.releaseKey(jobId, job, new bytes(length));
    }

    function testFuzz_releaseKey_recordsOnlyInsideTheKeyWindow(uint256 delay) public {
        (uint256 jobId, Job memory job) = _claimedConfidential();
        uint256 window = job.spec.runTimeout / 4;
        delay = delay % (job.spec.runTimeout + 1);
        _wait(delay);
        vm.prank(requester);
        keys.releaseKey(jobId, job, hex"aa");
        assertEq(keys.keyReleased(jobId, provider, job.state.deadline), delay <= window, "recorded iff in window");
    }

    function test_releaseKey_windowEndsAtAQuarterOfTheRunTimeout() public {
        (uint256 jobId, Job memory job) = _claimedConfidential();
        _wait(job.spec.runTimeout / 4);
        vm.expectEmit(address(keys));
        emit IKeyRelease.KeyReleased(jobId, provider, job.state.deadline, true, hex"aa");
        vm.prank(requester);
        keys.releaseKey(jobId, job, hex"aa");
        assertTrue(!keys.keyReleased(jobId, provider, job.state.deadline + 1), "another claim is another key");
        assertTrue(!keys.keyReleased(jobId, otherProvider, job.state.deadline), "another claimant");
    }

    function test_releaseKey_revertsUnlessClaimedAndMatching() public {
        JobSpec memory spec = _spec();
        spec.resultKey = keccak256("key");
        (uint256 jobId, Job memory job) = _post(spec);
        vm.expectRevert(
            abi.encodeWithSelector(IKeyRelease.JobNotInStatus.selector, jobId, JobStatus.Open, JobStatus.Claimed)
        );
        vm.prank(requester);
        keys.releaseKey(jobId, job, hex"aa");

        job = _claim(jobId, job, provider);
        Job memory forged = job;
        forged.state.deadline += 1;
        vm.expectRevert(abi.encodeWithSelector(IKeyRelease.JobDataMismatch.selector, jobId));
        vm.prank(requester);
        keys.releaseKey(jobId, forged, hex"aa");
    }

    function test_releaseClaim_revertsAfterTheDeadline() public {
        (uint256 jobId, Job memory job) = _claimedConfidential();
        _wait(job.spec.runTimeout + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SubmitDeadlinePassed.selector, jobId, job.state.deadline));
        vm.prank(provider);
        market.releaseClaim(jobId, job);
    }

    function test_releaseClaim_worksAtTheDeadline() public {
        (uint256 jobId, Job memory job) = _claimedConfidential();
        _wait(job.spec.runTimeout);
        vm.prank(provider);
        market.releaseClaim(jobId, job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "open");
    }

    function test_releaseClaim_revertsUnlessClaimed() public {
        JobSpec memory spec = _spec();
        spec.resultKey = keccak256("key");
        (uint256 jobId, Job memory job) = _post(spec);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Open, JobStatus.Claimed)
        );
        vm.prank(provider);
        market.releaseClaim(jobId, job);
    }

    function _claimedConfidential() private returns (uint256 jobId, Job memory job) {
        JobSpec memory spec = _spec();
        spec.resultKey = keccak256("requester key");
        (jobId, job) = _post(spec);
        job = _claim(jobId, job, provider);
    }
}
