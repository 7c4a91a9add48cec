// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The parts of OpenZeppelin's TimelockController the tests drive.
interface ITimelock {
    error TimelockUnexpectedOperationState(bytes32 operationId, bytes32 expectedStates);
    error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);

    function getMinDelay() external view returns (uint256);

    function hashOperation(address target, uint256 value, bytes calldata data, bytes32 predecessor, bytes32 salt)
        external
        pure
        returns (bytes32);

    function schedule(
        address target,
        uint256 value,
        bytes calldata data,
        bytes32 predecessor,
        bytes32 salt,
        uint256 delay
    ) external;

    function execute(address target, uint256 value, bytes calldata payload, bytes32 predecessor, bytes32 salt)
        external
        payable;

    function cancel(bytes32 id) external;

    function isOperationReady(bytes32 id) external view returns (bool);

    function PROPOSER_ROLE() external view returns (bytes32);

    function EXECUTOR_ROLE() external view returns (bytes32);
}
