// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A relayer as integrators write them: it holds CROWD (the float it pays fees from) and forwards any
/// call to the targets its owner allowed, for anyone. It follows the usual safeguard: the token is not an allowed
/// target, so nobody can make it `transfer` or `approve`. It never approved the market.
contract TargetLimitedRelayer {
    /// @notice The forwarded call went to a target the owner did not allow.
    error RelayerTargetNotAllowed(address target);

    mapping(address target => bool) public allowed;

    /// @param target The one contract this relayer forwards to (the market, for meta-transactions).
    constructor(address target) {
        allowed[target] = true;
    }

    /// @notice Forwards `data` to `target` as this relayer; bubbles a revert unchanged.
    function relay(address target, bytes calldata data) external returns (bytes memory result) {
        if (!allowed[target]) revert RelayerTargetNotAllowed(target);
        bool ok;
        (ok, result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }
}
