// The local test wallet: lets someone without MetaMask post on a local development chain by signing with
// one of anvil's public dev accounts (src/lib/devAccounts.ts) in the page itself. viem's local account
// signs typed data and transactions; the http transport only sends the signed results to the configured
// RPC. It is offered only when the dApp's config names a dev chain id AND the RPC answers that id, so the
// publicly known keys are never put to work on a real network.
import { createWalletClient, http, type Account, type Address, type Chain, type PublicClient, type Transport, type WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { chainOf, type AppConfig } from "./config";
import { DEFAULT_DEV_ACCOUNT, DEV_PRIVATE_KEYS, isDevAccountIndex, isDevChain } from "./devAccounts";

export const TEST_WALLET_WARNING = "test wallet — local development chain only; anyone knows these keys";

/** Where the choice of dev account is kept between visits (per origin). */
export const TEST_WALLET_STORAGE_KEY = "crowdcompute.testWallet";

const accounts = new Map<number, PrivateKeyAccount>();

/** Dev account `index` (0..9) as a viem local account; derived once. */
export function devAccount(index: number): PrivateKeyAccount {
  if (!isDevAccountIndex(index)) throw new RangeError(`dev account ${index} does not exist: anvil has accounts 0 to ${DEV_PRIVATE_KEYS.length - 1}`);
  let account = accounts.get(index);
  if (!account) {
    account = privateKeyToAccount(DEV_PRIVATE_KEYS[index] as `0x${string}`);
    accounts.set(index, account);
  }
  return account;
}

export function devAddress(index: number): Address {
  return devAccount(index).address;
}

/**
 * Whether to offer the test wallet for `config`: its chain id must be a dev chain's, and the RPC must
 * answer `eth_chainId` with that same id (a config that says 31337 while its RPC is a real network gets
 * nothing). Never throws: an RPC that is down or answers garbage means no.
 */
export async function testWalletOffered(config: Pick<AppConfig, "chainId">, client: Pick<PublicClient, "getChainId">): Promise<boolean> {
  if (!isDevChain(config.chainId)) return false;
  try {
    return (await client.getChainId()) === config.chainId;
  } catch {
    return false;
  }
}

export type TestWalletClient = WalletClient<Transport, Chain, Account>;

/**
 * A wallet client that signs as dev account `index` and sends to `config.rpcUrl`: the same `WalletClient`
 * the dApp gets for an injected wallet, with `account` a local account instead of a JSON-RPC one.
 * Refuses any chain id but a dev chain's (callers check `testWalletOffered` first; this is the backstop).
 */
export function createTestWalletClient(config: Pick<AppConfig, "chainId" | "rpcUrl">, index: number): TestWalletClient {
  if (!isDevChain(config.chainId)) {
    throw new Error(`the test wallet only works on a local development chain (31337 or 1337), not chain ${config.chainId}`);
  }
  return createWalletClient({
    account: devAccount(index),
    chain: chainOf(config),
    transport: http(config.rpcUrl, { retryCount: 1, timeout: 30_000 }),
  });
}

/** The dev account remembered from an earlier visit, or null (nothing kept, or not a valid index). */
export function rememberedTestAccount(storage: Pick<Storage, "getItem"> | null): number | null {
  try {
    const raw = storage?.getItem(TEST_WALLET_STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as { account?: unknown };
    return isDevAccountIndex(parsed.account) ? parsed.account : null;
  } catch {
    return null;
  }
}

/** Keep (`index`) or forget (null) the test wallet choice. Storage may be unavailable (private mode): then it is not kept. */
export function rememberTestAccount(storage: Pick<Storage, "setItem" | "removeItem"> | null, index: number | null): void {
  try {
    if (index === null) storage?.removeItem(TEST_WALLET_STORAGE_KEY);
    else storage?.setItem(TEST_WALLET_STORAGE_KEY, JSON.stringify({ account: index }));
  } catch {
    // storage full or refused: the choice lasts for this visit only
  }
}

/** The page's localStorage, or null where there is none (Node, or storage blocked). */
export function browserStorage(): Storage | null {
  try {
    return typeof window !== "undefined" && window.localStorage ? window.localStorage : null;
  } catch {
    return null;
  }
}

export { DEFAULT_DEV_ACCOUNT };
