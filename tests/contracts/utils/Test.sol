// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "./Vm.sol";

/// @notice The cheatcode handle and the few assertions these tests need. A failed assertion reverts with a
/// message naming both values, which fails the test.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Printed by forge with -vv.
    event log_named_uint(string key, uint256 val);

    /// @notice Deploys `artifact` ("File.sol:Contract") from the build output with ABI-encoded constructor
    /// arguments, bubbling a constructor revert. External so `vm.expectRevert` can target it through `this`.
    function deploy(string memory artifact, bytes memory args) public returns (address deployed) {
        bytes memory code = abi.encodePacked(vm.getCode(artifact), args);
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
            if iszero(deployed) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
    }

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert(string.concat("assertTrue failed: ", what));
    }

    function assertEq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) {
            revert(string.concat(what, ": ", vm.toString(actual), " != expected ", vm.toString(expected)));
        }
    }

    function assertEq(address actual, address expected, string memory what) internal pure {
        if (actual != expected) {
            revert(string.concat(what, ": ", vm.toString(actual), " != expected ", vm.toString(expected)));
        }
    }

    function assertEq(bytes32 actual, bytes32 expected, string memory what) internal pure {
        if (actual != expected) {
            revert(string.concat(what, ": ", vm.toString(actual), " != expected ", vm.toString(expected)));
        }
    }

    function assertEq(bool actual, bool expected, string memory what) internal pure {
        if (actual != expected) {
            revert(string.concat(what, ": ", vm.toString(actual), " != expected ", vm.toString(expected)));
        }
    }

    function assertLe(uint256 actual, uint256 bound, string memory what) internal pure {
        if (actual > bound) {
            revert(string.concat(what, ": ", vm.toString(actual), " > bound ", vm.toString(bound)));
        }
    }

    function assertGe(uint256 actual, uint256 bound, string memory what) internal pure {
        if (actual < bound) {
            revert(string.concat(what, ": ", vm.toString(actual), " < bound ", vm.toString(bound)));
        }
    }

    function assertLt(uint256 actual, uint256 bound, string memory what) internal pure {
        if (actual >= bound) {
            revert(string.concat(what, ": ", vm.toString(actual), " >= bound ", vm.toString(bound)));
        }
    }

    function assertGt(uint256 actual, uint256 bound, string memory what) internal pure {
        if (actual <= bound) {
            revert(string.concat(what, ": ", vm.toString(actual), " <= bound ", vm.toString(bound)));
        }
    }
}
