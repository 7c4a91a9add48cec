// The local test wallet: lets someone without MetaMask post on a local development chain by signing with
// one of anvil's public dev accounts (src/lib/devAccounts.ts) in the page itself, as a wagmi connector.
// It is offered only when the dApp's config names a dev chain id AND the RPC answers that id, so the
// publicly known keys are never put to work on a real network. The keys are used in
// src/lib/testWalletAccount.ts, loaded only once the wallet is picked or remembered.
import { getAddress, SwitchChainError, type Address, type PublicClient } from "viem";
import { createConnector } from "wagmi";
import type { AppConfig } from "./config";
import { DEFAULT_DEV_ACCOUNT, isDevAccountIndex, isDevChain } from "./devAccounts";
import type { TestWalletProvider } from "./testWalletAccount";

export const TEST_WALLET_WARNING = "test wallet — local development chain only; anyone knows these keys";

/** Where the choice of dev account is kept between visits (per origin). */
export const TEST_WALLET_STORAGE_KEY = "crowdcompute.testWallet";

/** The wagmi connector's id (its type is `testWallet`). */
export const TEST_WALLET_CONNECTOR_ID = "crowdcomputeTestWallet";

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

export interface TestWalletParameters {
  /** The dApp's chain: a dev chain's id (the connector refuses any other) and its RPC. */
  chain: Pick<AppConfig, "chainId" | "rpcUrl">;
  /** Whether the wallet is offered (`testWalletOffered`), asked before every connection. */
  offered: () => Promise<boolean>;
}

export interface TestWalletProperties extends Record<string, unknown> {
  /** Sign as dev account `index` from now on (remembered), connected or not. */
  selectAccount(index: number): Promise<void>;
}

/**
 * The test wallet as a wagmi connector. It connects as the remembered dev account (the picker stores
 * the choice first), so a remembered choice reconnects on the next visit where the wallet is offered
 * again; disconnecting forgets it. Its client (`getClient`) signs with the local account in the page.
 */
export function testWallet(parameters: TestWalletParameters) {
  const { chain } = parameters;
  if (!isDevChain(chain.chainId)) throw new Error(`the test wallet only works on a local development chain (31337 or 1337), not chain ${chain.chainId}`);
  const keys = () => import("./testWalletAccount");
  let provider: TestWalletProvider | undefined;
  const providerFor = async (index: number) => {
    if (provider?.index !== index) provider = (await keys()).testWalletProvider(chain, index);
    return provider;
  };
  const remembered = () => rememberedTestAccount(browserStorage());

  return createConnector<TestWalletProvider | undefined, TestWalletProperties>((config) => ({
    id: TEST_WALLET_CONNECTOR_ID,
    name: "Local test wallet",
    type: "testWallet",
    async connect({ withCapabilities } = {}) {
      const index = remembered();
      if (index === null) throw new Error("choose a dev account for the test wallet first");
      if (!(await parameters.offered())) throw new Error("the test wallet is offered only on a local development chain whose RPC answers its chain id");
      const { address } = await providerFor(index);
      const accounts = withCapabilities ? [{ address, capabilities: {} }] : [address];
      return { accounts: accounts as never, chainId: chain.chainId };
    },
    async disconnect() {
      rememberTestAccount(browserStorage(), null);
      provider = undefined;
    },
    async getAccounts(): Promise<readonly Address[]> {
      const index = remembered();
      return index === null ? [] : [(await providerFor(index)).address];
    },
    async getChainId() {
      return chain.chainId;
    },
    async getProvider() {
      const index = remembered();
      return index === null ? undefined : providerFor(index);
    },
    async getClient() {
      const index = remembered();
      if (index === null) throw new Error("the test wallet is not in use");
      return (await keys()).createTestWalletClient(chain, index);
    },
    async isAuthorized() {
      return remembered() !== null && (await parameters.offered());
    },
    async switchChain({ chainId }) {
      const known = config.chains.find((candidate) => candidate.id === chainId);
      if (chainId !== chain.chainId || !known) throw new SwitchChainError(new Error(`the test wallet only knows chain ${chain.chainId}`));
      return known;
    },
    onAccountsChanged(accounts) {
      config.emitter.emit("change", { accounts: accounts.map((account) => getAddress(account)) });
    },
    onChainChanged(chainId) {
      config.emitter.emit("change", { chainId: Number(chainId) });
    },
    onDisconnect() {
      config.emitter.emit("disconnect");
    },
    async selectAccount(index: number) {
      rememberTestAccount(browserStorage(), index);
      this.onAccountsChanged([(await providerFor(index)).address]);
    },
  }));
}

testWallet.type = "testWallet" as const;

export { DEFAULT_DEV_ACCOUNT };
