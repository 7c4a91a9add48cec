import { createWalletClient, custom, recoverTypedDataAddress, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { allowPayment, PERMIT_LIFETIME, type PaymentMethod } from "../src/lib/payment";

const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const MARKET: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const TOKEN: Address = "0xa16E02E87b7454126E5E10d957A927A7F5B5d2be";
const ESCROW = 13n * 10n ** 18n;
const BLOCK_TIME = 1_700_000_000n;
const DOMAIN = ["0x0f", "Crowd Compute", "1", 31337n, TOKEN, `0x${"00".repeat(32)}`, []] as const;

interface Chain {
  allowance: bigint;
  permits: boolean;
}

/** A public client that answers the reads `allowPayment` makes, and records simulated calls. */
function fakePublicClient(chain: Chain) {
  const simulated: { functionName: string; args: readonly unknown[] }[] = [];
  const client = {
    readContract: vi.fn(async ({ functionName }: { functionName: string }) => {
      switch (functionName) {
        case "token":
          return TOKEN;
        case "allowance":
          return chain.allowance;
        case "eip712Domain":
          if (!chain.permits) throw new Error("execution reverted");
          return DOMAIN;
        case "nonces":
          if (!chain.permits) throw new Error("execution reverted");
          return 4n;
        default:
          throw new Error(`unexpected read ${functionName}`);
      }
    }),
    getBlock: vi.fn(async () => ({ timestamp: BLOCK_TIME })),
    simulateContract: vi.fn(async (call: { functionName: string; args: readonly unknown[] }) => {
      simulated.push(call);
      return { request: call };
    }),
    waitForTransactionReceipt: vi.fn(async () => ({ status: "success" })),
  };
  return { client: client as unknown as PublicClient, simulated };
}

function walletClient() {
  const request = vi.fn(async ({ method }: { method: string }) => {
    if (method === "eth_chainId") return "0x7a69";
    if (method === "eth_sendTransaction" || method === "eth_sendRawTransaction") return `0x${"ab".repeat(32)}`;
    throw new Error(`unexpected RPC ${method}`);
  });
  const client = createWalletClient({ account, transport: custom({ request }) });
  const writeContract = vi.spyOn(client, "writeContract").mockResolvedValue(`0x${"ab".repeat(32)}`);
  const signTypedData = vi.spyOn(client, "signTypedData");
  return { client, writeContract, signTypedData };
}

async function allow(chain: Chain) {
  const { client: publicClient, simulated } = fakePublicClient(chain);
  const wallet = walletClient();
  const methods: PaymentMethod[] = [];
  const allowed = await allowPayment({
    publicClient,
    walletClient: wallet.client,
    account: account.address,
    market: MARKET,
    amount: ESCROW,
    onMethod: (method) => methods.push(method),
  });
  return { allowed, methods, simulated, ...wallet };
}

describe("allowing the market to take a payment", () => {
  it("uses a standing allowance that covers the amount, asking the wallet for nothing", async () => {
    const { allowed, methods, signTypedData, writeContract } = await allow({ allowance: ESCROW, permits: true });
    expect(allowed).toEqual({ method: "allowance", permit: null, approveHash: null });
    expect(methods).toEqual(["allowance"]);
    expect(signTypedData).not.toHaveBeenCalled();
    expect(writeContract).not.toHaveBeenCalled();
  });

  it("signs an EIP-2612 permit for exactly the amount when the allowance is short", async () => {
    const { allowed, methods, signTypedData, writeContract } = await allow({ allowance: ESCROW - 1n, permits: true });
    expect(allowed.method).toBe("permit");
    expect(methods).toEqual(["permit"]);
    expect(writeContract).not.toHaveBeenCalled();
    const typed = signTypedData.mock.calls[0]![0];
    expect(typed.message).toEqual({
      owner: account.address,
      spender: MARKET,
      value: ESCROW,
      nonce: 4n,
      deadline: BLOCK_TIME + PERMIT_LIFETIME,
    });
    expect(typed.domain).toEqual({ name: "Crowd Compute", version: "1", chainId: 31337n, verifyingContract: TOKEN });
    const permit = allowed.permit!;
    expect(permit.deadline).toBe(BLOCK_TIME + PERMIT_LIFETIME);
    expect([27, 28]).toContain(permit.v);
    const signature = await signTypedData.mock.results[0]!.value;
    expect(signature.slice(0, 66)).toBe(permit.r);
    const signer = await recoverTypedDataAddress({ ...typed, signature } as Parameters<typeof recoverTypedDataAddress>[0]);
    expect(signer).toBe(account.address);
  });

  it("approves exactly the amount when the token takes no permits", async () => {
    const { allowed, methods, simulated, signTypedData, writeContract } = await allow({ allowance: 0n, permits: false });
    expect(allowed).toEqual({ method: "approve", permit: null, approveHash: `0x${"ab".repeat(32)}` });
    expect(methods).toEqual(["approve"]);
    expect(signTypedData).not.toHaveBeenCalled();
    expect(simulated).toHaveLength(1);
    expect(simulated[0]).toMatchObject({ address: TOKEN, functionName: "approve", args: [MARKET, ESCROW] });
    expect(writeContract).toHaveBeenCalledTimes(1);
  });
});
