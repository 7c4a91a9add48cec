// What the market holds for the connected account, beside its wallet balance: refunds (a job that ended
// Unverified or Rejected), unused committee fees, earnings and owed rewards. The market pays by crediting
// this balance, never by sending; the Withdraw button calls its `withdraw()`, which moves the balance and
// mints the owed reward into the wallet.
import { useState } from "react";
import type { Address, Hash } from "viem";
import { useConfig, useReadContract } from "wagmi";
import { connectedClients } from "../lib/connectedClients";
import { crowdMarketAbi } from "../lib/contracts";
import { shortHash, tokenAmount } from "../lib/format";
import { explainError } from "../lib/revert";
import { signerOf } from "../lib/signer";
import { useAppConfig, useCrowdBalance } from "../lib/wallet";

/** `owner`'s account in the market (`accountOf`), polled every 15 s; null while unknown. */
export function useMarketAccount(owner: Address | null) {
  const { config } = useAppConfig();
  const read = useReadContract({
    address: config.market ?? undefined,
    abi: crowdMarketAbi,
    functionName: "accountOf",
    args: owner ? [owner] : undefined,
    query: { enabled: config.market !== null && owner !== null, refetchInterval: 15_000 },
  });
  return { account: read.status === "success" ? read.data : null, refresh: read.refetch };
}

export function MarketBalance({ owner }: { owner: Address }) {
  const { config } = useAppConfig();
  const wagmiConfig = useConfig();
  const { account, refresh } = useMarketAccount(owner);
  const { refresh: refreshWallet } = useCrowdBalance();
  const [sending, setSending] = useState(false);
  const [message, setMessage] = useState<{ tone: "good" | "bad"; text: string } | null>(null);
  const owed = account ? account.balance + account.rewardOwed : 0n;
  if (!account || (owed === 0n && !message)) return null;

  const withdraw = async () => {
    if (!config.market) return;
    setSending(true);
    setMessage(null);
    try {
      const { walletClient, publicClient } = await connectedClients(wagmiConfig);
      const { request } = await publicClient.simulateContract({ address: config.market, abi: crowdMarketAbi, functionName: "withdraw", account: owner });
      const hash: Hash = await walletClient.writeContract({ ...request, account: signerOf(walletClient, owner), chain: walletClient.chain ?? null });
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 1_000 });
      if (receipt.status !== "success") throw new Error(`the transaction ${hash} reverted`);
      setMessage({ tone: "good", text: `Withdrew ${tokenAmount(owed)} to your wallet (${shortHash(hash)}).` });
      await Promise.all([refresh(), refreshWallet()]);
    } catch (error) {
      setMessage({ tone: "bad", text: explainError(error) });
    } finally {
      setSending(false);
    }
  };

  const reward = account.rewardOwed > 0n ? ` + ${tokenAmount(account.rewardOwed)} reward` : "";
  return (
    <span className="market-balance">
      {owed > 0n && (
        <>
          <span title="Refunds, unused fees and earnings the market holds for you until you withdraw them" data-testid="market-balance">
            {`+ ${tokenAmount(account.balance)}${reward} in the market`}
          </span>
          <button type="button" className="button small" onClick={() => void withdraw()} disabled={sending}>
            {sending ? "Withdrawing…" : "Withdraw"}
          </button>
        </>
      )}
      {message && (
        <span role="status" className={message.tone === "good" ? "market-balance-done" : "wallet-error"}>
          {message.text}
        </span>
      )}
    </span>
  );
}
