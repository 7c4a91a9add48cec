// The header's wallet area: install hint, connect (a browser wallet, chosen among those installed, or the
// local test wallet on a dev chain), wrong-chain switch, or account and balance (with what the market holds
// for the account and its Withdraw button).
import { lazy, Suspense, useState } from "react";
import type { EIP1193Provider } from "viem";
import { useConnect, useConnectors, useDisconnect, useSwitchChain, type Connector } from "wagmi";
import { chainOf } from "../lib/config";
import { shortAddress, tokenAmount } from "../lib/format";
import { explainError } from "../lib/revert";
import {
  browserStorage,
  DEFAULT_DEV_ACCOUNT,
  rememberTestAccount,
  TEST_WALLET_CONNECTOR_ID,
  TEST_WALLET_WARNING,
  type TestWalletProperties,
} from "../lib/testWallet";
import { useAppConfig, useBrowserWallets, useCrowdBalance, useTestWalletOffer, useWallet } from "../lib/wallet";
import { MarketBalance } from "./MarketBalance";

// The picker shows the dev accounts' addresses, derived from their keys: load that code on demand.
const TestWalletPicker = lazy(() => import("./TestWalletPicker").then((module) => ({ default: module.TestWalletPicker })));

export const NO_WALLET_HINT = "No browser wallet found. Install one (any EIP-1193 wallet) to post jobs; browsing works without.";
export const NO_WALLET_HINT_DEV_CHAIN =
  "No browser wallet found. On this local development chain you can use the local test wallet instead, or install one (any EIP-1193 wallet); browsing works without.";

/** The banner under the header while the test wallet signs: its keys are public. */
export function TestWalletBanner() {
  const { kind, testAccount } = useWallet();
  if (kind !== "test") return null;
  return (
    <div className="test-wallet-banner" role="note">
      <strong>{TEST_WALLET_WARNING}</strong>
      <span> · signing as dev account {testAccount}</span>
    </div>
  );
}

/** Wallets that know the chain only by a message (no 4902 code) get it added the same way. */
const UNKNOWN_CHAIN = /unrecognized|not been added|unknown chain/i;

function messagesOf(error: unknown): string {
  const parts: string[] = [];
  for (let e = error as { message?: unknown; cause?: unknown } | undefined; e && parts.length < 5; e = e.cause as typeof e) parts.push(String(e.message ?? ""));
  return parts.join(" ");
}

/** Choosing, using and leaving the test wallet, through its wagmi connector. */
function useTestWalletActions(setError: (message: string | null) => void) {
  const connector = useConnectors().find((candidate) => candidate.id === TEST_WALLET_CONNECTOR_ID) as (Connector & TestWalletProperties) | undefined;
  const { kind } = useWallet();
  const { mutateAsync: connect } = useConnect();
  const { mutateAsync: disconnect } = useDisconnect();
  return {
    use: async (index: number) => {
      if (!connector) return;
      setError(null);
      try {
        if (kind === "test") await connector.selectAccount(index);
        else {
          rememberTestAccount(browserStorage(), index);
          await connect({ connector });
        }
      } catch (reason) {
        if (kind !== "test") rememberTestAccount(browserStorage(), null);
        setError(explainError(reason));
      }
    },
    leave: async () => {
      if (connector) await disconnect({ connector }).catch((reason: unknown) => setError(explainError(reason)));
    },
  };
}

export function WalletButton() {
  const { config } = useAppConfig();
  const wallet = useWallet();
  const { balance } = useCrowdBalance();
  const wallets = useBrowserWallets();
  const offer = useTestWalletOffer();
  const connect = useConnect();
  const { mutateAsync: switchChain } = useSwitchChain();
  const [error, setError] = useState<string | null>(null);
  const [hint, setHint] = useState<string | null>(null);
  const [choosing, setChoosing] = useState(false);
  const [picking, setPicking] = useState(false);
  const testWallet = useTestWalletActions(setError);
  const offered = offer === "offered";
  const picker =
    picking && offered ? (
      <Suspense fallback={null}>
        <TestWalletPicker
          initial={wallet.testAccount ?? DEFAULT_DEV_ACCOUNT}
          inUse={wallet.kind === "test"}
          onUse={(index) => void testWallet.use(index)}
          onLeave={() => void testWallet.leave()}
          onClose={() => setPicking(false)}
        />
      </Suspense>
    ) : null;
  const togglePicker = () => setPicking((open) => !open);

  const connectWallet = async (connector: Connector) => {
    setChoosing(false);
    setError(null);
    try {
      await connect.mutateAsync({ connector });
    } catch (reason) {
      setError(explainError(reason));
    }
  };

  const switchToAppChain = async () => {
    setError(null);
    const chain = chainOf(config);
    const parameters = { chainName: chain.name, nativeCurrency: chain.nativeCurrency, rpcUrls: [config.rpcUrl] };
    try {
      await switchChain({ chainId: config.chainId, addEthereumChainParameter: parameters });
    } catch (reason) {
      if (!UNKNOWN_CHAIN.test(messagesOf(reason)) || !wallet.connector) return setError(explainError(reason));
      try {
        const provider = (await wallet.connector.getProvider()) as EIP1193Provider;
        await provider.request({ method: "wallet_addEthereumChain", params: [{ ...parameters, chainId: `0x${config.chainId.toString(16)}` }] });
      } catch (addReason) {
        setError(explainError(addReason));
      }
    }
  };

  if (!wallet.account) {
    const onClick = () => {
      if (wallets.length === 0) setHint(offered ? NO_WALLET_HINT_DEV_CHAIN : NO_WALLET_HINT);
      else if (wallets.length === 1) void connectWallet(wallets[0] as Connector);
      else setChoosing((open) => !open);
    };
    return (
      <div className="wallet">
        <button type="button" className="button primary" onClick={onClick} disabled={connect.isPending} aria-expanded={wallets.length > 1 ? choosing : undefined}>
          {connect.isPending ? "Connecting…" : "Connect wallet"}
        </button>
        {offered && (
          <button type="button" className="button" onClick={togglePicker} aria-expanded={picking} title={TEST_WALLET_WARNING}>
            Use a local test wallet
          </button>
        )}
        {hint && !error && (
          <span className="wallet-hint" role="status">
            {hint}
          </span>
        )}
        {error && <span className="wallet-error">{error}</span>}
        {choosing && wallets.length > 1 && (
          <div className="wallet-menu card" role="menu" aria-label="Browser wallets">
            {wallets.map((option) => (
              <button key={option.uid} type="button" role="menuitem" className="wallet-option" onClick={() => void connectWallet(option)}>
                {option.icon && <img src={option.icon} alt="" width={20} height={20} />}
                {option.name}
              </button>
            ))}
          </div>
        )}
        {picker}
      </div>
    );
  }
  return (
    <div className="wallet">
      {wallet.wrongChain ? (
        <button type="button" className="button warn" onClick={() => void switchToAppChain()}>
          Switch to chain {config.chainId}
        </button>
      ) : (
        <>
          <span className="balance" title="Your CROWD balance">
            {balance === null ? "— CROWD" : tokenAmount(balance)}
          </span>
          <MarketBalance owner={wallet.account} />
        </>
      )}
      {wallet.kind === "test" && (
        <button type="button" className="button warn small" onClick={togglePicker} aria-expanded={picking} title={TEST_WALLET_WARNING}>
          Test wallet
        </button>
      )}
      <span className="account mono" title={wallet.account}>
        <span className="dot" aria-hidden="true" />
        {shortAddress(wallet.account)}
      </span>
      {error && <span className="wallet-error">{error}</span>}
      {picker}
    </div>
  );
}
