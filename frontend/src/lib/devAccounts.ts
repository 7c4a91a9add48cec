// Anvil's ten development accounts, for the dApp's local test wallet (src/lib/testWallet.ts).
//
// These private keys are PUBLIC: every anvil and Hardhat node derives them from the mnemonic
// "test test test test test test test test test test test junk" and prints them at start, so anyone can
// spend from these addresses on any chain. They belong on a local development chain only (chain id 31337
// or 1337, as chain/dev_accounts.py) and the dApp never uses them anywhere else. No other key may ever
// appear in this code base.
import type { Hex } from "viem";

/** The chain ids of local development chains (anvil's 31337, Ganache/Hardhat-style 1337). */
export const DEV_CHAIN_IDS: readonly number[] = [31337, 1337];

export function isDevChain(chainId: number): boolean {
  return DEV_CHAIN_IDS.includes(chainId);
}

// Public, dev-chain-only keys (see above); the same list as chain/dev_accounts.py.
export const DEV_PRIVATE_KEYS: readonly Hex[] = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/** `make demo`'s requester (crowdcompute/demo/stack.py REQUESTER_ACCOUNT): funded with CROWD, runs no node. */
export const DEFAULT_DEV_ACCOUNT = 1;

/**
 * What each account does in `make demo` (crowdcompute/demo/stack.py), so nobody posts from a provider's or
 * validator's account by mistake: their nodes send transactions from it at the same time.
 */
export const DEV_ACCOUNT_ROLES: Readonly<Record<number, string>> = {
  0: "deployer",
  1: "the demo's requester",
  2: "a demo provider",
  3: "a demo provider",
  4: "a demo validator",
  5: "a demo validator",
  6: "a demo validator",
  7: "the demo's cheater",
};

export function isDevAccountIndex(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value < DEV_PRIVATE_KEYS.length;
}
