// The chain and the wallet for the whole page: config, a read client, and the wallet with its account,
// chain, CROWD balance, and a way onto the right chain. The wallet is either an injected EIP-1193 wallet
// (window.ethereum: MetaMask and the like) or, on a local development chain only, the test wallet
// (src/lib/testWallet.ts); the pages see one `WalletClient` either way.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import {
  createWalletClient,
  custom,
  getAddress,
  numberToHex,
  type Address,
  type EIP1193Provider,
  type PublicClient,
  type WalletClient,
} from "viem";
import { chainOf, loadConfig, publicClientOf, staticConfig, withDevnetMarket, type AppConfig } from "./config";
import { crowdMarketAbi, crowdTokenAbi } from "./contracts";
import { explainError } from "./revert";
import {
  browserStorage,
  createTestWalletClient,
  devAddress,
  rememberTestAccount,
  rememberedTestAccount,
  testWalletOffered,
} from "./testWallet";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

export type WalletStatus = "unavailable" | "disconnected" | "connecting" | "connected";
/** Which wallet signs: an injected one, or the local test wallet. */
export type WalletKind = "injected" | "test";
/** Whether the test wallet may be offered: still asking the RPC, yes, or no (not a dev chain, or the RPC disagrees). */
export type TestWalletOffer = "checking" | "offered" | "refused";

export interface ChainContextValue {
  config: AppConfig;
  configLoaded: boolean;
  publicClient: PublicClient;
  token: Address | null;
  status: WalletStatus;
  account: Address | null;
  walletChainId: number | null;
  wrongChain: boolean;
  balance: bigint | null;
  walletClient: WalletClient | null;
  walletKind: WalletKind | null;
  testWalletOffer: TestWalletOffer;
  /** The dev account the test wallet signs as, while it is in use. */
  testAccount: number | null;
  error: string | null;
  connect: () => Promise<void>;
  connectTestWallet: (index: number) => void;
  disconnectTestWallet: () => void;
  switchChain: () => Promise<void>;
  refreshBalance: () => void;
}

const ChainContext = createContext<ChainContextValue | null>(null);

export function useChain(): ChainContextValue {
  const value = useContext(ChainContext);
  if (!value) throw new Error("useChain outside <ChainProvider>");
  return value;
}

function providerOf(): EIP1193Provider | null {
  return typeof window !== "undefined" && window.ethereum ? window.ethereum : null;
}

export function ChainProvider({ children }: { children: ReactNode }) {
  const [config, setConfig] = useState<AppConfig>(() => staticConfig());
  const [configLoaded, setConfigLoaded] = useState(false);
  const [token, setToken] = useState<Address | null>(config.token);
  const [provider] = useState<EIP1193Provider | null>(providerOf);
  const [injectedAccount, setAccount] = useState<Address | null>(null);
  const [walletChainId, setWalletChainId] = useState<number | null>(null);
  const [connecting, setConnecting] = useState(false);
  const [balance, setBalance] = useState<bigint | null>(null);
  const [balanceTick, setBalanceTick] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [testWalletOffer, setTestWalletOffer] = useState<TestWalletOffer>("checking");
  const [testAccount, setTestAccount] = useState<number | null>(null);

  useEffect(() => {
    let live = true;
    void loadConfig()
      .then((loaded) => withDevnetMarket(loaded, publicClientOf(loaded)))
      .then((loaded) => {
        if (!live) return;
        setConfig(loaded);
        setToken(loaded.token);
        setConfigLoaded(true);
      });
    return () => {
      live = false;
    };
  }, []);

  const publicClient = useMemo(() => publicClientOf(config), [config]);

  // The test wallet: asked once the final config is known (the static one may name another RPC). A
  // choice remembered from an earlier visit reconnects, but only where the wallet is offered again.
  useEffect(() => {
    if (!configLoaded) return;
    let live = true;
    void testWalletOffered(config, publicClient).then((offered) => {
      if (!live) return;
      setTestWalletOffer(offered ? "offered" : "refused");
      const remembered = rememberedTestAccount(browserStorage());
      setTestAccount(offered ? remembered : null);
    });
    return () => {
      live = false;
    };
  }, [configLoaded, config, publicClient]);

  const testInUse = testWalletOffer === "offered" && testAccount !== null;
  const account = testInUse ? devAddress(testAccount) : injectedAccount;

  // The token address, when the config does not name it, comes from the market.
  useEffect(() => {
    if (token || !config.market) return;
    publicClient
      .readContract({ address: config.market, abi: crowdMarketAbi, functionName: "token" })
      .then((address) => setToken(address))
      .catch(() => undefined);
  }, [publicClient, config.market, token]);

  // Follow the wallet: an account it already allowed, and every later change of account or chain.
  useEffect(() => {
    if (!provider) return;
    const onAccounts = (accounts: readonly string[]) => setAccount(accounts[0] ? getAddress(accounts[0]) : null);
    const onChain = (chainId: string) => setWalletChainId(Number(chainId));
    provider.request({ method: "eth_accounts" }).then(onAccounts).catch(() => undefined);
    provider.request({ method: "eth_chainId" }).then(onChain).catch(() => undefined);
    provider.on("accountsChanged", onAccounts);
    provider.on("chainChanged", onChain);
    return () => {
      provider.removeListener("accountsChanged", onAccounts);
      provider.removeListener("chainChanged", onChain);
    };
  }, [provider]);

  useEffect(() => {
    if (!account || !token) {
      setBalance(null);
      return;
    }
    let live = true;
    const read = () =>
      publicClient
        .readContract({ address: token, abi: crowdTokenAbi, functionName: "balanceOf", args: [account] })
        .then((value) => live && setBalance(value))
        .catch(() => live && setBalance(null));
    void read();
    const timer = window.setInterval(read, 15_000);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [account, token, publicClient, balanceTick]);

  const walletClient = useMemo<WalletClient | null>(() => {
    if (testInUse) return createTestWalletClient(config, testAccount);
    return provider && injectedAccount ? createWalletClient({ account: injectedAccount, chain: chainOf(config), transport: custom(provider) }) : null;
  }, [testInUse, testAccount, provider, injectedAccount, config]);

  const connectTestWallet = useCallback(
    (index: number) => {
      if (testWalletOffer !== "offered") return;
      setError(null);
      setTestAccount(index);
      rememberTestAccount(browserStorage(), index);
    },
    [testWalletOffer],
  );

  const disconnectTestWallet = useCallback(() => {
    setTestAccount(null);
    rememberTestAccount(browserStorage(), null);
  }, []);

  const connect = useCallback(async () => {
    if (!provider) return;
    setConnecting(true);
    setError(null);
    try {
      const accounts = await provider.request({ method: "eth_requestAccounts" });
      setAccount(accounts[0] ? getAddress(accounts[0]) : null);
      setWalletChainId(Number(await provider.request({ method: "eth_chainId" })));
    } catch (reason) {
      setError(explainError(reason));
    } finally {
      setConnecting(false);
    }
  }, [provider]);

  const switchChain = useCallback(async () => {
    if (!provider) return;
    setError(null);
    const chainId = numberToHex(config.chainId);
    try {
      await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
    } catch (reason) {
      const code = (reason as { code?: number }).code;
      // 4902: the wallet does not know the chain yet; add it (which also switches to it).
      if (code !== 4902 && !/unrecognized|not been added|unknown chain/i.test(String((reason as Error).message))) {
        setError(explainError(reason));
        return;
      }
      try {
        await provider.request({
          method: "wallet_addEthereumChain",
          params: [
            {
              chainId,
              chainName: chainOf(config).name,
              nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
              rpcUrls: [config.rpcUrl],
            },
          ],
        });
      } catch (addReason) {
        setError(explainError(addReason));
        return;
      }
    }
    setWalletChainId(Number(await provider.request({ method: "eth_chainId" })));
  }, [provider, config]);

  const refreshBalance = useCallback(() => setBalanceTick((t) => t + 1), []);

  const status: WalletStatus = testInUse
    ? "connected"
    : !provider
      ? "unavailable"
      : injectedAccount
        ? "connected"
        : connecting
          ? "connecting"
          : "disconnected";
  const chainId = testInUse ? config.chainId : walletChainId;
  const value: ChainContextValue = {
    config,
    configLoaded,
    publicClient,
    token,
    status,
    account,
    walletChainId: chainId,
    wrongChain: status === "connected" && chainId !== null && chainId !== config.chainId,
    balance,
    walletClient,
    walletKind: testInUse ? "test" : injectedAccount ? "injected" : null,
    testWalletOffer,
    testAccount: testInUse ? testAccount : null,
    error,
    connect,
    connectTestWallet,
    disconnectTestWallet,
    switchChain,
    refreshBalance,
  };
  return <ChainContext.Provider value={value}>{children}</ChainContext.Provider>;
}
