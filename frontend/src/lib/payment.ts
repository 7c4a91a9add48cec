// Allowing the market to take a payment (a job's escrow), as chain/clients/market.py does for the CLI: the
// standing allowance when it covers the amount, else an EIP-2612 permit carried by the paying transaction,
// else an approve of exactly the amount. The market moves only what its payer allowed (standard ERC20).
import { parseSignature, type Address, type Hash, type Hex, type PublicClient, type WalletClient } from "viem";
import { crowdMarketAbi, crowdTokenAbi } from "./contracts";
import { signerOf } from "./signer";

/** How the market was allowed to take a payment. */
export type PaymentMethod = "allowance" | "permit" | "approve";

/** An EIP-2612 permit's deadline and signature, as `postJobWithPermit` / `stakeWithPermit` take them. */
export interface PermitArgs {
  deadline: bigint;
  v: number;
  r: Hex;
  s: Hex;
}

export interface PaymentRequest {
  publicClient: PublicClient;
  walletClient: WalletClient;
  account: Address;
  market: Address;
  amount: bigint;
  /** Called before the wallet is asked for anything, with the way the payment will be allowed. */
  onMethod?: (method: PaymentMethod) => void;
  /** Called once an approve transaction is sent (the approve path only). */
  onApproveSent?: (hash: Hash) => void;
}

/** What to send the paying call with: a permit to carry, or nothing (the allowance is in place). */
export interface Allowed {
  method: PaymentMethod;
  permit: PermitArgs | null;
  approveHash: Hash | null;
}

const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** Seconds a permit stays valid, counted from the latest block's time (a dev chain's clock may run ahead). */
export const PERMIT_LIFETIME = 3600n;

export async function tokenOf(publicClient: PublicClient, market: Address): Promise<Address> {
  return publicClient.readContract({ address: market, abi: crowdMarketAbi, functionName: "token" });
}

/** The token's EIP-712 domain (ERC-5267) and the owner's permit nonce, or null when the token takes no permits. */
async function permitTerms(publicClient: PublicClient, token: Address, owner: Address) {
  try {
    const [[, name, version, chainId, verifyingContract], nonce] = await Promise.all([
      publicClient.readContract({ address: token, abi: crowdTokenAbi, functionName: "eip712Domain" }),
      publicClient.readContract({ address: token, abi: crowdTokenAbi, functionName: "nonces", args: [owner] }),
    ]);
    return { domain: { name, version, chainId, verifyingContract }, nonce };
  } catch {
    return null;
  }
}

/**
 * Make sure the market may take `amount` from `account`: nothing to do when the standing allowance covers it;
 * else sign a permit for exactly `amount` (returned, for the paying call to carry); else, when the token takes
 * no permits, send an approve of exactly `amount` and wait for it. A rejected signature is not a reason to
 * approve instead: it fails like any rejected request.
 */
export async function allowPayment(request: PaymentRequest): Promise<Allowed> {
  const { publicClient, walletClient, account, market, amount } = request;
  const token = await tokenOf(publicClient, market);
  const allowance = await publicClient.readContract({
    address: token,
    abi: crowdTokenAbi,
    functionName: "allowance",
    args: [account, market],
  });
  if (allowance >= amount) {
    request.onMethod?.("allowance");
    return { method: "allowance", permit: null, approveHash: null };
  }
  const terms = await permitTerms(publicClient, token, account);
  if (terms) {
    request.onMethod?.("permit");
    const block = await publicClient.getBlock();
    const deadline = block.timestamp + PERMIT_LIFETIME;
    const signature = await walletClient.signTypedData({
      account: signerOf(walletClient, account),
      domain: terms.domain,
      types: PERMIT_TYPES,
      primaryType: "Permit",
      message: { owner: account, spender: market, value: amount, nonce: terms.nonce, deadline },
    });
    const { r, s, v, yParity } = parseSignature(signature);
    return { method: "permit", permit: { deadline, v: Number(v ?? BigInt(yParity + 27)), r, s }, approveHash: null };
  }
  request.onMethod?.("approve");
  const { request: approve } = await publicClient.simulateContract({
    address: token,
    abi: crowdTokenAbi,
    functionName: "approve",
    args: [market, amount],
    account,
  });
  const hash = await walletClient.writeContract({
    ...approve,
    account: signerOf(walletClient, account),
    chain: walletClient.chain ?? null,
  });
  request.onApproveSent?.(hash);
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 1_000 });
  if (receipt.status !== "success") throw new Error(`the approve transaction ${hash} reverted`);
  return { method: "approve", permit: null, approveHash: hash };
}
