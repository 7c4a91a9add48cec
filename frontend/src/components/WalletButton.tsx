// The header's wallet area: install hint, connect (an injected wallet, or the local test wallet on a dev
// chain), wrong-chain switch, or account and balance.
import { useState } from "react";
import { shortAddress, tokenAmount } from "../lib/format";
import { DEFAULT_DEV_ACCOUNT, TEST_WALLET_WARNING } from "../lib/testWallet";
import { useChain } from "../lib/wallet";
import { TestWalletPicker } from "./TestWalletPicker";

export const NO_WALLET_HINT = "No browser wallet found. Install one (any EIP-1193 wallet) to post jobs; browsing works without.";
export const NO_WALLET_HINT_DEV_CHAIN =
  "No browser wallet found. On this local development chain you can use the local test wallet instead, or install one (any EIP-1193 wallet); browsing works without.";

/** The banner under the header while the test wallet signs: its keys are public. */
export function TestWalletBanner() {
  const { walletKind, testAccount } = useChain();
  if (walletKind !== "test") return null;
  return (
    <div className="test-wallet-banner" role="note">
      <strong>{TEST_WALLET_WARNING}</strong>
      <span> · signing as dev account {testAccount}</span>
    </div>
  );
}

export function WalletButton() {
  const { status, account, balance, wrongChain, connect, switchChain, config, error, walletKind, testWalletOffer, testAccount } = useChain();
  const [hint, setHint] = useState<string | null>(null);
  const [picking, setPicking] = useState(false);
  const offered = testWalletOffer === "offered";
  const picker =
    picking && offered ? <TestWalletPicker initial={testAccount ?? DEFAULT_DEV_ACCOUNT} onClose={() => setPicking(false)} /> : null;
  const togglePicker = () => setPicking((open) => !open);

  if (status !== "connected" || !account) {
    const onClick = () => (status === "unavailable" ? setHint(offered ? NO_WALLET_HINT_DEV_CHAIN : NO_WALLET_HINT) : void connect());
    return (
      <div className="wallet">
        <button type="button" className="button primary" onClick={onClick} disabled={status === "connecting"}>
          {status === "connecting" ? "Connecting…" : "Connect wallet"}
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
        {picker}
      </div>
    );
  }
  return (
    <div className="wallet">
      {wrongChain ? (
        <button type="button" className="button warn" onClick={() => void switchChain()}>
          Switch to chain {config.chainId}
        </button>
      ) : (
        <span className="balance" title="Your CROWD balance">
          {balance === null ? "— CROWD" : tokenAmount(balance)}
        </span>
      )}
      {walletKind === "test" && (
        <button type="button" className="button warn small" onClick={togglePicker} aria-expanded={picking} title={TEST_WALLET_WARNING}>
          Test wallet
        </button>
      )}
      <span className="account mono" title={account}>
        <span className="dot" aria-hidden="true" />
        {shortAddress(account)}
      </span>
      {error && <span className="wallet-error">{error}</span>}
      {picker}
    </div>
  );
}
