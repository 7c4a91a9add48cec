// Choosing the dev account the local test wallet signs as: each account with its role in `make demo`,
// the chosen one's address and balances, and the warning that its key is public.
import { useEffect, useState } from "react";
import { formatEther, type Address } from "viem";
import { crowdTokenAbi } from "../lib/contracts";
import { DEV_ACCOUNT_ROLES, DEV_PRIVATE_KEYS } from "../lib/devAccounts";
import { shortAddress, tokenAmount } from "../lib/format";
import { TEST_WALLET_WARNING, devAddress } from "../lib/testWallet";
import { useChain } from "../lib/wallet";

interface Balances {
  ether: bigint | null;
  crowd: bigint | null;
}

function useBalances(address: Address): Balances | null {
  const { publicClient, token } = useChain();
  const [balances, setBalances] = useState<Balances | null>(null);
  useEffect(() => {
    let live = true;
    setBalances(null);
    const ether = publicClient.getBalance({ address }).catch(() => null);
    const crowd = token
      ? publicClient.readContract({ address: token, abi: crowdTokenAbi, functionName: "balanceOf", args: [address] }).catch(() => null)
      : Promise.resolve(null);
    void Promise.all([ether, crowd]).then(([e, c]) => live && setBalances({ ether: e, crowd: c }));
    return () => {
      live = false;
    };
  }, [publicClient, token, address]);
  return balances;
}

function etherAmount(wei: bigint): string {
  const [whole = "0", fraction = ""] = formatEther(wei).split(".");
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${fraction ? `.${fraction.slice(0, 4)}` : ""} ETH`;
}

export function TestWalletPicker({ initial, onClose }: { initial: number; onClose: () => void }) {
  const { connectTestWallet, testAccount, disconnectTestWallet } = useChain();
  const [index, setIndex] = useState(initial);
  const address = devAddress(index);
  const balances = useBalances(address);
  return (
    <div className="test-wallet-picker card" role="dialog" aria-label="Local test wallet">
      <p className="test-wallet-warning" role="note">
        {TEST_WALLET_WARNING}
      </p>
      <label className="field">
        <span className="field-label">Dev account</span>
        <select value={index} onChange={(event) => setIndex(Number(event.currentTarget.value))}>
          {DEV_PRIVATE_KEYS.map((_, i) => (
            <option key={i} value={i}>
              {`${i}: ${shortAddress(devAddress(i))}${DEV_ACCOUNT_ROLES[i] ? ` (${DEV_ACCOUNT_ROLES[i]})` : ""}`}
            </option>
          ))}
        </select>
      </label>
      <dl className="test-wallet-facts">
        <div>
          <dt>Address</dt>
          <dd className="mono small" data-testid="test-wallet-address">
            {address}
          </dd>
        </div>
        <div>
          <dt>Balance</dt>
          <dd data-testid="test-wallet-balance">
            {balances === null
              ? "reading…"
              : [balances.crowd === null ? null : tokenAmount(balances.crowd), balances.ether === null ? "unknown" : etherAmount(balances.ether)]
                  .filter(Boolean)
                  .join(" · ")}
          </dd>
        </div>
      </dl>
      <div className="actions">
        <button
          type="button"
          className="button primary small"
          onClick={() => {
            connectTestWallet(index);
            onClose();
          }}
        >
          Use this account
        </button>
        {testAccount !== null && (
          <button
            type="button"
            className="button small"
            onClick={() => {
              disconnectTestWallet();
              onClose();
            }}
          >
            Stop using the test wallet
          </button>
        )}
        <button type="button" className="button small" onClick={onClose}>
          Cancel
        </button>
      </div>
    </div>
  );
}
