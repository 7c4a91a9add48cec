// Choosing the dev account the local test wallet signs as: each account with its role in `make demo`,
// the chosen one's address and balances, and the warning that its key is public.
// Loaded on demand: deriving the accounts' addresses needs the elliptic-curve code.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { formatEther, type Address } from "viem";
import { usePublicClient } from "wagmi";
import { crowdTokenAbi } from "../lib/contracts";
import { DEV_ACCOUNT_ROLES, DEV_PRIVATE_KEYS } from "../lib/devAccounts";
import { shortAddress, tokenAmount } from "../lib/format";
import { TEST_WALLET_WARNING } from "../lib/testWallet";
import { devAddress } from "../lib/testWalletAccount";
import { useTokenAddress } from "../lib/wallet";

interface Balances {
  ether: bigint | null;
  crowd: bigint | null;
}

/** The account's ether and CROWD, read once per account (null until both answered or failed). */
function useBalances(address: Address): Balances | null {
  const client = usePublicClient();
  const token = useTokenAddress();
  const { data } = useQuery({
    queryKey: ["devAccountBalances", address, token],
    queryFn: async (): Promise<Balances> => {
      const ether = client ? client.getBalance({ address }).catch(() => null) : Promise.resolve(null);
      const crowd =
        client && token ? client.readContract({ address: token, abi: crowdTokenAbi, functionName: "balanceOf", args: [address] }).catch(() => null) : Promise.resolve(null);
      const [e, c] = await Promise.all([ether, crowd]);
      return { ether: e, crowd: c };
    },
  });
  return data ?? null;
}

function etherAmount(wei: bigint): string {
  const [whole = "0", fraction = ""] = formatEther(wei).split(".");
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${fraction ? `.${fraction.slice(0, 4)}` : ""} ETH`;
}

interface PickerProps {
  initial: number;
  /** Whether the test wallet signs now (then it can be left). */
  inUse: boolean;
  onUse: (index: number) => void;
  onLeave: () => void;
  onClose: () => void;
}

export function TestWalletPicker({ initial, inUse, onUse, onLeave, onClose }: PickerProps) {
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
            onUse(index);
            onClose();
          }}
        >
          Use this account
        </button>
        {inUse && (
          <button
            type="button"
            className="button small"
            onClick={() => {
              onLeave();
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
