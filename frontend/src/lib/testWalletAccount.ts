// The test wallet's keys at work (loaded only once someone uses or picks the test wallet): anvil's dev
// accounts as viem local accounts, the wallet client that signs with them in the page, and the EIP-1193
// provider the wagmi connector hands out. viem's local account signs typed data and transactions; the
// http transport only sends the signed results to the configured RPC.
import { createWalletClient, http, numberToHex, type Account, type Address, type Chain, type Transport, type WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { chainOf, type AppConfig } from "./config";
import { DEV_PRIVATE_KEYS, isDevAccountIndex, isDevChain } from "./devAccounts";

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

function refuseOtherChains(chainId: number): void {
  if (!isDevChain(chainId)) {
    throw new Error(`the test wallet only works on a local development chain (31337 or 1337), not chain ${chainId}`);
  }
}

export type TestWalletClient = WalletClient<Transport, Chain, Account>;

/**
 * A wallet client that signs as dev account `index` and sends to `config.rpcUrl`: what the wagmi
 * connector gives the pages (`getWalletClient`), the same `WalletClient` type as an injected wallet's,
 * with `account` a local account instead of a JSON-RPC one. Refuses any chain id but a dev chain's
 * (the connector exists only where the wallet is offered; this is the backstop).
 */
export function createTestWalletClient(config: Pick<AppConfig, "chainId" | "rpcUrl">, index: number): TestWalletClient {
  refuseOtherChains(config.chainId);
  return createWalletClient({
    account: devAccount(index),
    chain: chainOf(config),
    transport: http(config.rpcUrl, { retryCount: 1, timeout: 30_000 }),
  });
}

/** Methods that would have the node sign: the test wallet's provider refuses them (it signs in the page). */
const NODE_SIGNING = /^(eth_sign|eth_sendTransaction$|personal_sign$|wallet_sendCalls$)/;

export interface TestWalletProvider {
  request(args: { method: string; params?: unknown }): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): void;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
  readonly address: Address;
  readonly index: number;
}

/**
 * The connector's EIP-1193 provider: it names the dev account and the chain, and forwards reads to the
 * RPC. It never forwards a signing method (anvil would sign for its own unlocked accounts): signing goes
 * through `createTestWalletClient`, which wagmi uses as the connector's client.
 */
export function testWalletProvider(config: Pick<AppConfig, "chainId" | "rpcUrl">, index: number): TestWalletProvider {
  const client = createTestWalletClient(config, index);
  const { address } = client.account;
  async function request({ method, params }: { method: string; params?: unknown }): Promise<unknown> {
    if (method === "eth_accounts" || method === "eth_requestAccounts") return [address];
    if (method === "eth_chainId") return numberToHex(config.chainId);
    if (method === "wallet_switchEthereumChain" || method === "wallet_addEthereumChain") {
      const wanted = Number((params as { chainId?: string }[] | undefined)?.[0]?.chainId);
      if (wanted === config.chainId) return null;
      throw Object.assign(new Error(`the test wallet only knows chain ${config.chainId}`), { code: 4902 });
    }
    if (NODE_SIGNING.test(method) || method.startsWith("wallet_")) {
      throw Object.assign(new Error(`the test wallet does not answer ${method} over its provider`), { code: 4200 });
    }
    return client.request({ method, params } as never);
  }
  return { request, on: () => undefined, removeListener: () => undefined, address, index };
}
