// Which account a wallet call names, so a local account signs in the page instead of being asked over RPC.
import type { Account, Address, WalletClient } from "viem";

/**
 * Who signs for `address`: the wallet client's own account when it is that address (the test wallet's
 * local account, which signs in the page), else the address itself (viem then asks the injected wallet to
 * sign for it). Passing a bare address for a local account would send `eth_signTypedData_v4` or
 * `eth_sendTransaction` to the node instead, which only an unlocked dev node would answer.
 */
export function signerOf(walletClient: Pick<WalletClient, "account">, address: Address): Account | Address {
  const own = walletClient.account;
  return own && own.address.toLowerCase() === address.toLowerCase() ? own : address;
}
