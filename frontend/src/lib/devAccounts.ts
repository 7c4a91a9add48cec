// Anvil's ten development accounts, for the dApp's local test wallet (src/lib/testWallet.ts).
//
// These private keys are PUBLIC: every anvil and Hardhat node derives them from the mnemonic
// "test test test test test test test test test test test junk" and prints them at start, so anyone can
// spend from these addresses on any chain. They belong on a local development chain only (chain id 31337
// or 1337, as chain/dev_accounts.py) and the dApp never uses them anywhere else. No other key may ever
// appear in this code base.
import { DEV_ACCOUNT_ROLES, DEV_CHAIN_IDS, DEV_PRIVATE_KEYS, DEV_REQUESTER_ACCOUNT } from "../generated/devChain";

/** The chain ids of local development chains (anvil's 31337, Ganache/Hardhat-style 1337), anvil's public
 * dev keys, and what each account does in `make demo` (so nobody posts from a provider's or validator's
 * account by mistake: their nodes send from it at the same time): generated from chain/dev_accounts.py,
 * the one table, which `crowdcompute devnet status` prints too. */
export { DEV_ACCOUNT_ROLES, DEV_CHAIN_IDS, DEV_PRIVATE_KEYS };

export function isDevChain(chainId: number): boolean {
  return DEV_CHAIN_IDS.includes(chainId);
}

/** The devnet's requester (chain/dev_accounts.py REQUESTER_ACCOUNT): funded with CROWD, runs no node. */
export const DEFAULT_DEV_ACCOUNT = DEV_REQUESTER_ACCOUNT;

export function isDevAccountIndex(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value < DEV_PRIVATE_KEYS.length;
}
