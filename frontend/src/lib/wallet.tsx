// The chain and the wallet for the whole page, on wagmi and TanStack Query. The chain comes from the
// gateway's GET /config (src/lib/config.ts) and is known before anything renders; wagmi then holds the
// wallets: any injected EIP-1193 wallet (each one announced through EIP-6963, or window.ethereum) and,
// on a local development chain only, the test wallet (src/lib/testWallet.ts). Pages read the connection
// with wagmi's hooks and sign with the connected wallet's own client (`getWalletClient`).
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { createContext, memo, useContext, useMemo, useState, type ReactNode } from "react";
import { createClient, http, type Address, type EIP1193Provider, type GetCodeParameters, type PublicClient } from "viem";
import { getChainId, getCode } from "viem/actions";
import {
  createConfig,
  createStorage,
  injected,
  noopStorage,
  useConnection,
  useConnectors,
  useReadContract,
  WagmiProvider,
  type Config,
  type Connector,
  type CreateConnectorFn,
} from "wagmi";
import { chainOf, loadConfig, withDevnetMarket, type AppConfig } from "./config";
import { crowdMarketAbi, crowdTokenAbi } from "./contracts";
import { isDevChain } from "./devAccounts";
import { browserStorage, rememberedTestAccount, testWallet, testWalletOffered } from "./testWallet";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

/** The connector for `window.ethereum` (wallets that do not announce themselves through EIP-6963). */
export const BROWSER_WALLET_ID = "injected";

export interface WalletSetup {
  wagmi: Config;
  /** Whether the test wallet is offered on this chain (asked once; never throws). */
  testWalletOffered: () => Promise<boolean>;
  /** Reads the chain settings need before a page does (a bare client: the pages' clients come from wagmi). */
  reader: Pick<PublicClient, "getChainId" | "getCode">;
}

/** wagmi's config for the dApp's one chain: its RPC, the injected wallets, and the test wallet on a dev chain. */
export function createWalletSetup(app: Pick<AppConfig, "chainId" | "rpcUrl">): WalletSetup {
  const chain = chainOf(app);
  const transport = http(app.rpcUrl, { retryCount: 1, timeout: 8_000 });
  const client = createClient({ chain, transport });
  const reader = { getChainId: () => getChainId(client), getCode: (args: GetCodeParameters) => getCode(client, args) };
  let offer: Promise<boolean> | undefined;
  const offered = () => (offer ??= testWalletOffered(app, reader));
  const connectors: CreateConnectorFn[] = [
    // With a target, a wallet that already allowed this site reconnects on load, as EIP-6963 wallets do.
    injected({ target: { id: BROWSER_WALLET_ID, name: "Browser wallet", provider: (window) => window?.ethereum } }),
  ];
  if (isDevChain(app.chainId)) connectors.push(testWallet({ chain: app, offered }) as CreateConnectorFn);
  const wagmi = createConfig({
    chains: [chain],
    transports: { [chain.id]: transport },
    connectors,
    multiInjectedProviderDiscovery: true,
    // One eth_call per read, as before (a devnet has no multicall contract anyway).
    batch: { multicall: false },
    storage: createStorage({ key: "crowdcompute.wagmi", storage: browserStorage() ?? noopStorage }),
  });
  return { wagmi, testWalletOffered: offered, reader };
}

export function createQueryClient(): QueryClient {
  // No retries: a failed read shows its error at once, and polling asks again anyway.
  return new QueryClient({ defaultOptions: { queries: { retry: false } } });
}

interface ChainSettings {
  config: AppConfig;
  /** The market address is settled (from the config, or found on the devnet, or known to be missing). */
  configLoaded: boolean;
  testWalletOffered: () => Promise<boolean>;
}

const ChainSettingsContext = createContext<ChainSettings | null>(null);

export function useAppConfig(): ChainSettings {
  const value = useContext(ChainSettingsContext);
  if (!value) throw new Error("useAppConfig outside <AppProviders>");
  return value;
}

/** The chain settings the pages read: the gateway's, with the devnet's market filled in when none is named. */
function ChainSettingsProvider({ gateway, setup, children }: { gateway: AppConfig; setup: WalletSetup; children: ReactNode }) {
  const market = useQuery({
    queryKey: ["devnetMarket", gateway.chainId, gateway.rpcUrl, gateway.market],
    queryFn: () => withDevnetMarket(gateway, setup.reader),
    staleTime: Infinity,
  });
  const value = useMemo(
    () => ({ config: market.data ?? gateway, configLoaded: market.isSuccess, testWalletOffered: setup.testWalletOffered }),
    [market.data, market.isSuccess, gateway, setup],
  );
  return <ChainSettingsContext.Provider value={value}>{children}</ChainSettingsContext.Provider>;
}

/** wagmi around the page. It renders once per chain: every render of WagmiProvider asks the wallets to reconnect. */
const WalletProviders = memo(function WalletProviders({ gateway, children }: { gateway: AppConfig; children: ReactNode }) {
  const setup = useMemo(() => createWalletSetup(gateway), [gateway]);
  return (
    <WagmiProvider config={setup.wagmi}>
      <ChainSettingsProvider gateway={gateway} setup={setup}>
        {children}
      </ChainSettingsProvider>
    </WagmiProvider>
  );
});

function ChainSettingsGate({ children }: { children: ReactNode }) {
  // The chain must be known before wagmi starts (and before the test wallet may be offered).
  const { data } = useQuery({ queryKey: ["config"], queryFn: () => loadConfig(), staleTime: Infinity });
  return data ? <WalletProviders gateway={data}>{children}</WalletProviders> : null;
}

/** Server state (TanStack Query), then the chain settings, then wagmi, around `children`. */
export function AppProviders({ children, queryClient }: { children: ReactNode; queryClient?: QueryClient }) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  return (
    <QueryClientProvider client={client}>
      <ChainSettingsGate>{children}</ChainSettingsGate>
    </QueryClientProvider>
  );
}

/** CROWD's address: the config's, else read from the market. */
export function useTokenAddress(): Address | null {
  const { config } = useAppConfig();
  const read = useReadContract({
    address: config.market ?? undefined,
    abi: crowdMarketAbi,
    functionName: "token",
    query: { enabled: !config.token && config.market !== null, staleTime: Infinity },
  });
  return config.token ?? read.data ?? null;
}

/** `owner`'s CROWD balance (default: the connected account), polled every 15 s; null while unknown. */
export function useCrowdBalance(owner?: Address | null) {
  const token = useTokenAddress();
  const { address } = useConnection();
  const who = owner === undefined ? address : owner;
  const read = useReadContract({
    address: token ?? undefined,
    abi: crowdTokenAbi,
    functionName: "balanceOf",
    args: who ? [who] : undefined,
    query: { enabled: token !== null && Boolean(who), refetchInterval: 15_000 },
  });
  return { balance: read.status === "success" ? read.data : null, refresh: read.refetch };
}

export type WalletKind = "injected" | "test";

export interface WalletState {
  /** The account that signs, once a wallet is connected. */
  account: Address | null;
  walletChainId: number | null;
  wrongChain: boolean;
  kind: WalletKind | null;
  connector: Connector | null;
  /** The dev account the test wallet signs as, while it is in use. */
  testAccount: number | null;
}

/** The connected wallet as the pages need it: who signs, which kind, and whether it is on the dApp's chain. */
export function useWallet(): WalletState {
  const { config } = useAppConfig();
  const connection = useConnection();
  if (connection.status !== "connected") {
    return { account: null, walletChainId: null, wrongChain: false, kind: null, connector: null, testAccount: null };
  }
  const kind: WalletKind = connection.connector.type === testWallet.type ? "test" : "injected";
  return {
    account: connection.address,
    walletChainId: connection.chainId,
    wrongChain: connection.chainId !== config.chainId,
    kind,
    connector: connection.connector,
    testAccount: kind === "test" ? rememberedTestAccount(browserStorage()) : null,
  };
}

/**
 * The browser wallets to offer: every wallet that announced itself (EIP-6963), or else `window.ethereum`
 * when there is one. Empty: no wallet installed.
 */
export function useBrowserWallets(): readonly Connector[] {
  const connectors = useConnectors();
  const injectedOnes = connectors.filter((connector) => connector.type === "injected");
  const announced = injectedOnes.filter((connector) => connector.id !== BROWSER_WALLET_ID);
  if (announced.length) return announced;
  const hasWindowWallet = typeof window !== "undefined" && window.ethereum !== undefined;
  return hasWindowWallet ? injectedOnes.filter((connector) => connector.id === BROWSER_WALLET_ID) : [];
}

/** Whether the test wallet may be offered: still asking the RPC, yes, or no (not a dev chain, or the RPC disagrees). */
export type TestWalletOffer = "checking" | "offered" | "refused";

export function useTestWalletOffer(): TestWalletOffer {
  const { config, testWalletOffered } = useAppConfig();
  const devChain = isDevChain(config.chainId);
  const { data } = useQuery({
    queryKey: ["testWalletOffer", config.chainId, config.rpcUrl],
    queryFn: testWalletOffered,
    enabled: devChain,
    staleTime: Infinity,
  });
  if (!devChain) return "refused";
  return data === undefined ? "checking" : data ? "offered" : "refused";
}
