// The local test wallet against real anvil nodes: when it is offered, that it signs in the page (permits,
// the gateway's requests, transactions), and that the choice of account is kept.
import { createPublicClient, http, parseEther, verifyTypedData, type Address } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_DEV_ACCOUNT, DEV_PRIVATE_KEYS } from "../src/lib/devAccounts";
import { signerOf } from "../src/lib/signer";
import { signedRequestHeaders } from "../src/lib/signing";
import { TEST_WALLET_STORAGE_KEY, rememberTestAccount, rememberedTestAccount, testWalletOffered } from "../src/lib/testWallet";
import { createTestWalletClient, devAddress, testWalletProvider } from "../src/lib/testWalletAccount";
import { deadRpcUrl, startAnvil, type Anvil } from "./helpers/anvil";
import reference from "./fixtures/python_reference.json";

const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
const TOKEN: Address = "0xa513E6E4b8f2a923D98304ec87F64353C4D5C853";
const MARKET: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

function rpcClient(url: string) {
  return createPublicClient({ transport: http(url, { retryCount: 0 }) });
}

let devnet: Anvil;
let mainnetLike: Anvil;
let otherDev: Anvil;

beforeAll(async () => {
  [devnet, mainnetLike, otherDev] = await Promise.all([startAnvil(31337), startAnvil(1), startAnvil(1337)]);
}, 30_000);

afterAll(async () => {
  await Promise.all([devnet?.stop(), mainnetLike?.stop(), otherDev?.stop()]);
});

describe("anvil's dev accounts", () => {
  it("are the ten accounts of anvil's public mnemonic, account 1 the demo's requester", () => {
    expect(DEV_PRIVATE_KEYS).toHaveLength(10);
    DEV_PRIVATE_KEYS.forEach((_, index) => {
      expect(devAddress(index)).toBe(mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index }).address);
    });
    expect(devAddress(DEFAULT_DEV_ACCOUNT)).toBe("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    expect(() => devAddress(10)).toThrow(/accounts 0 to 9/);
  });
});

describe("when the test wallet is offered", () => {
  it("is offered when the config names 31337 or 1337 and the RPC answers that chain id", async () => {
    expect(await testWalletOffered({ chainId: 31337 }, rpcClient(devnet.url))).toBe(true);
    expect(await testWalletOffered({ chainId: 1337 }, rpcClient(otherDev.url))).toBe(true);
  });

  it("is not offered when the RPC answers another chain id than the config names", async () => {
    expect(await testWalletOffered({ chainId: 31337 }, rpcClient(mainnetLike.url))).toBe(false);
    expect(await testWalletOffered({ chainId: 1337 }, rpcClient(devnet.url))).toBe(false);
  });

  it("is not offered when the RPC does not answer", async () => {
    expect(await testWalletOffered({ chainId: 31337 }, rpcClient(await deadRpcUrl()))).toBe(false);
  });

  it("is never offered on another chain id, not even asking an RPC that agrees", async () => {
    const client = rpcClient(mainnetLike.url);
    const ask = vi.spyOn(client, "getChainId");
    expect(await testWalletOffered({ chainId: 1 }, client)).toBe(false);
    expect(ask).not.toHaveBeenCalled();
    expect(() => createTestWalletClient({ chainId: 1, rpcUrl: mainnetLike.url }, 1)).toThrow(/only works on a local development chain/);
  });
});

describe("signing with the test wallet", () => {
  it("signs an EIP-2612 permit that viem's verifyTypedData accepts, in the page (no RPC needed)", async () => {
    // A dead RPC URL: the signature cannot have come from a node.
    const wallet = createTestWalletClient({ chainId: 31337, rpcUrl: await deadRpcUrl() }, DEFAULT_DEV_ACCOUNT);
    const owner = wallet.account.address;
    const typed = {
      domain: { name: "Crowd Compute", version: "1", chainId: 31337, verifyingContract: TOKEN },
      types: PERMIT_TYPES,
      primaryType: "Permit" as const,
      message: { owner, spender: MARKET, value: parseEther("25"), nonce: 0n, deadline: 1_900_000_000n },
    };
    const signature = await wallet.signTypedData({ account: signerOf(wallet, owner), ...typed });
    expect(await verifyTypedData({ address: owner, signature, ...typed })).toBe(true);
    expect(await verifyTypedData({ address: devAddress(0), signature, ...typed })).toBe(false);
    expect(await verifyTypedData({ address: owner, signature, ...typed, message: { ...typed.message, value: parseEther("26") } })).toBe(false);
  });

  it("signs the gateway's Request exactly as gateway_protocol/signing.py does", async () => {
    const fixture = reference.signing;
    const wallet = createTestWalletClient({ chainId: fixture.chainId, rpcUrl: devnet.url }, 0);
    expect(wallet.account.address).toBe(fixture.address);
    const headers = await signedRequestHeaders(
      (typed) => wallet.signTypedData({ account: signerOf(wallet, wallet.account.address), ...typed }),
      wallet.account.address,
      fixture.chainId,
      fixture.method,
      fixture.path,
      { bodyHash: fixture.bodyHash as `0x${string}`, gateway: fixture.gateway },
      { now: (fixture.expiry - 120) * 1000, nonce: fixture.nonce as `0x${string}` },
    );
    expect(headers["X-Crowd-Signature"]).toBe(fixture.signature);
  });

  it("signs transactions itself and sends them raw: anvil mines them without knowing the key", async () => {
    // A node whose own accounts come from a random mnemonic: it holds no dev key and cannot sign for one.
    const node = await startAnvil(31337, ["--mnemonic-random"]);
    try {
      const reader = rpcClient(node.url);
      const from = devAddress(DEFAULT_DEV_ACCOUNT);
      await reader.request({ method: "anvil_setBalance" as never, params: [from, "0x3635c9adc5dea00000"] as never });
      const wallet = createTestWalletClient({ chainId: 31337, rpcUrl: node.url }, DEFAULT_DEV_ACCOUNT);
      const to = devAddress(5);
      const before = await reader.getBalance({ address: to });
      const hash = await wallet.sendTransaction({ account: signerOf(wallet, from), to, value: parseEther("1.5") });
      const receipt = await reader.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      expect(receipt.status).toBe("success");
      expect(receipt.from.toLowerCase()).toBe(from.toLowerCase());
      expect((await reader.getBalance({ address: to })) - before).toBe(parseEther("1.5"));
      // The same call with the bare address asks the node to sign, which it refuses: the test wallet's
      // client must be given its own account (signerOf) to sign in the page.
      await expect(wallet.sendTransaction({ account: from, to, value: 1n })).rejects.toThrow();
    } finally {
      await node.stop();
    }
  });
});

describe("remembering the chosen account", () => {
  function memoryStorage(): Storage {
    const items = new Map<string, string>();
    return {
      get length() {
        return items.size;
      },
      clear: () => items.clear(),
      getItem: (key) => items.get(key) ?? null,
      key: (index) => [...items.keys()][index] ?? null,
      removeItem: (key) => void items.delete(key),
      setItem: (key, value) => void items.set(key, value),
    };
  }

  it("keeps the index until the wallet is left, and ignores anything that is not a dev account", () => {
    const storage = memoryStorage();
    expect(rememberedTestAccount(storage)).toBeNull();
    rememberTestAccount(storage, 3);
    expect(storage.getItem(TEST_WALLET_STORAGE_KEY)).toBe('{"account":3}');
    expect(rememberedTestAccount(storage)).toBe(3);
    rememberTestAccount(storage, null);
    expect(rememberedTestAccount(storage)).toBeNull();
    for (const junk of ['{"account":10}', '{"account":-1}', '{"account":"1"}', "not json"]) {
      storage.setItem(TEST_WALLET_STORAGE_KEY, junk);
      expect(rememberedTestAccount(storage)).toBeNull();
    }
    expect(rememberedTestAccount(null)).toBeNull();
  });
});

describe("the test wallet's provider", () => {
  it("names its account and chain, forwards reads, and never asks the node to sign", async () => {
    const provider = testWalletProvider({ chainId: 31337, rpcUrl: devnet.url }, DEFAULT_DEV_ACCOUNT);
    const address = devAddress(DEFAULT_DEV_ACCOUNT);
    expect(await provider.request({ method: "eth_requestAccounts" })).toEqual([address]);
    expect(await provider.request({ method: "eth_chainId" })).toBe("0x7a69");
    expect(await provider.request({ method: "eth_getBalance", params: [address, "latest"] })).toBe("0x21e19e0c9bab2400000");
    for (const method of ["eth_sendTransaction", "eth_signTypedData_v4", "eth_sign", "personal_sign"]) {
      await expect(provider.request({ method, params: [] })).rejects.toMatchObject({ code: 4200 });
    }
    expect(await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x7a69" }] })).toBeNull();
    await expect(provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x1" }] })).rejects.toMatchObject({ code: 4902 });
    expect(() => testWalletProvider({ chainId: 1, rpcUrl: devnet.url }, 1)).toThrow(/only works on a local development chain/);
  });
});
