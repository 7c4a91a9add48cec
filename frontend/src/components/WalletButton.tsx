// The header's wallet area: install hint, connect, wrong-chain switch, or account and balance.
import { useState } from "react";
import { shortAddress, tokenAmount } from "../lib/format";
import { useChain } from "../lib/wallet";

export const NO_WALLET_HINT = "No browser wallet found. Install one (any EIP-1193 wallet) to post jobs; browsing works without.";

export function WalletButton() {
  const { status, account, balance, wrongChain, connect, switchChain, config, error } = useChain();
  const [hint, setHint] = useState<string | null>(null);
  if (status !== "connected" || !account) {
    const onClick = () => (status === "unavailable" ? setHint(NO_WALLET_HINT) : void connect());
    return (
      <div className="wallet">
        <button type="button" className="button primary" onClick={onClick} disabled={status === "connecting"}>
          {status === "connecting" ? "Connecting…" : "Connect wallet"}
        </button>
        {hint && !error && (
          <span className="wallet-hint" role="status">
            {hint}
          </span>
        )}
        {error && <span className="wallet-error">{error}</span>}
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
      <span className="account mono" title={account}>
        <span className="dot" aria-hidden="true" />
        {shortAddress(account)}
      </span>
      {error && <span className="wallet-error">{error}</span>}
    </div>
  );
}
