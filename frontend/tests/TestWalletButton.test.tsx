// @vitest-environment happy-dom
// The test wallet in the page, against real anvil nodes: offered or not by the gateway's chain id and the
// RPC's answer, choosing an account (address and balance shown), the banner, and the remembered choice.
// The gateway is a stub (only /config matters here); every JSON-RPC call goes to a real anvil.
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../src/App";
import { TEST_WALLET_STORAGE_KEY, TEST_WALLET_WARNING } from "../src/lib/testWallet";
import { AppProviders } from "../src/lib/wallet";
import { postJson, startAnvil, type Anvil } from "./helpers/anvil";

const REQUESTER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // dev account 1
const OFFER = { name: "Use a local test wallet" };
const STATS = {
  jobs: 0,
  jobs_by_state: {},
  providers: 0,
  validators: 0,
  votes: 0,
  budget_posted: "0",
  paid_to_providers: "0",
  rewards_to_providers: "0",
  slashed: "0",
  events_indexed: 0,
  last_block: 0,
  energy: { kwh: 0, gco2e: 0, jobs: 0, measured_jobs: 0, reported_by: "provider" },
};

let devnet: Anvil;
let mainnetLike: Anvil;

beforeAll(async () => {
  [devnet, mainnetLike] = await Promise.all([startAnvil(31337), startAnvil(1)]);
}, 30_000);

afterAll(async () => {
  await Promise.all([devnet?.stop(), mainnetLike?.stop()]);
});

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

interface Gateway {
  /** JSON-RPC methods the page sent to the RPC, in order. */
  rpcMethods: string[];
  /** Resolves once the RPC has answered an `eth_chainId`. */
  chainIdAnswered: Promise<void>;
}

/** The page's fetch: a gateway whose /config names `chainId` and `rpcUrl`; RPC calls forwarded to anvil. */
function serve(chainId: number, rpcUrl: string): Gateway {
  const rpcMethods: string[] = [];
  let answered: () => void = () => undefined;
  const chainIdAnswered = new Promise<void>((resolve) => (answered = resolve));
  const fetcher = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    if (url.origin === new URL(rpcUrl).origin) {
      const body = String(init?.body ?? "");
      const calls = JSON.parse(body) as { method: string } | { method: string }[];
      const methods = (Array.isArray(calls) ? calls : [calls]).map((call) => call.method);
      rpcMethods.push(...methods);
      const { status, text } = await postJson(rpcUrl, body);
      if (methods.includes("eth_chainId")) setTimeout(answered, 0);
      return new Response(text, { status, headers: { "content-type": "application/json" } });
    }
    if (url.pathname === "/config") {
      return json({ chain_id: chainId, rpc_url: rpcUrl, market: null, token: null, deployment_block: null, runtime_images: {} });
    }
    if (url.pathname === "/stats") return json(STATS);
    if (url.pathname === "/jobs" || url.pathname === "/providers") return json({ data: [], count: 0 });
    return new Response("<!doctype html>", { headers: { "content-type": "text/html" } });
  };
  vi.stubGlobal("fetch", vi.fn(fetcher));
  return { rpcMethods, chainIdAnswered };
}

function renderApp() {
  return render(
    <AppProviders>
      <App />
    </AppProviders>,
  );
}

/** Let the page finish what it does after the RPC answered (state updates, re-render). */
async function settle(gateway: Gateway) {
  await act(async () => {
    await gateway.chainIdAnswered;
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
}

describe("the local test wallet", () => {
  beforeEach(() => window.localStorage.clear());
  afterEach(() => {
    vi.unstubAllGlobals();
    window.localStorage.clear();
    delete window.ethereum;
  });

  it("is offered on the dev chain: pick account 1 by default, see its balance, connect, and get the banner", async () => {
    serve(31337, devnet.url);
    renderApp();
    fireEvent.click(await screen.findByRole("button", OFFER));
    // The picker's code (the dev keys' addresses) loads when it first opens.
    const picker = await screen.findByRole("dialog", { name: "Local test wallet" });
    expect(picker.textContent).toContain(TEST_WALLET_WARNING);
    expect((screen.getByRole("combobox", { name: "Dev account" }) as HTMLSelectElement).value).toBe("1");
    expect(screen.getByTestId("test-wallet-address").textContent).toBe(REQUESTER);
    await waitFor(() => expect(screen.getByTestId("test-wallet-balance").textContent).toBe("10,000 ETH"));

    fireEvent.click(screen.getByRole("button", { name: "Use this account" }));
    await screen.findByText("0x7099…79C8");
    expect(screen.getByRole("note").textContent).toContain(`${TEST_WALLET_WARNING} · signing as dev account 1`);
    expect(screen.queryByRole("button", { name: "Connect wallet" })).toBeNull();
    expect(JSON.parse(window.localStorage.getItem(TEST_WALLET_STORAGE_KEY) ?? "null")).toEqual({ account: 1 });
  });

  it("remembers the chosen account across visits, and forgets it when left", async () => {
    serve(31337, devnet.url);
    const first = renderApp();
    fireEvent.click(await screen.findByRole("button", OFFER));
    fireEvent.change(await screen.findByRole("combobox", { name: "Dev account" }), { target: { value: "3" } });
    expect(screen.getByTestId("test-wallet-address").textContent).toBe("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    fireEvent.click(screen.getByRole("button", { name: "Use this account" }));
    await screen.findByText("0x90F7…b906");
    first.unmount();

    // A new visit: connected again as account 3 without asking.
    serve(31337, devnet.url);
    renderApp();
    await screen.findByText("0x90F7…b906");
    expect(screen.getByRole("note").textContent).toContain("signing as dev account 3");

    fireEvent.click(screen.getByRole("button", { name: "Test wallet" }));
    fireEvent.click(await screen.findByRole("button", { name: "Stop using the test wallet" }));
    await screen.findByRole("button", { name: "Connect wallet" });
    expect(screen.queryByRole("note")).toBeNull();
    expect(window.localStorage.getItem(TEST_WALLET_STORAGE_KEY)).toBeNull();
  });

  it("is not offered when the RPC answers another chain id, and a remembered choice does not connect", async () => {
    window.localStorage.setItem(TEST_WALLET_STORAGE_KEY, JSON.stringify({ account: 1 }));
    const gateway = serve(31337, mainnetLike.url); // the config says 31337; the node is chain 1
    renderApp();
    await screen.findByText(`chain 31337 · RPC ${mainnetLike.url}`);
    await settle(gateway);
    expect(gateway.rpcMethods).toContain("eth_chainId");
    expect(screen.queryByRole("button", OFFER)).toBeNull();
    expect(screen.queryByText("0x7099…79C8")).toBeNull();
    expect(screen.queryByRole("note")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Connect wallet" }));
    expect(screen.getByText(/^No browser wallet found. Install one/)).toBeTruthy();
  });

  it("is never offered on another chain id, even when the RPC agrees", async () => {
    window.localStorage.setItem(TEST_WALLET_STORAGE_KEY, JSON.stringify({ account: 1 }));
    const gateway = serve(1, mainnetLike.url);
    renderApp();
    await screen.findByText(`chain 1 · RPC ${mainnetLike.url}`);
    await act(async () => new Promise((resolve) => setTimeout(resolve, 150)));
    expect(gateway.rpcMethods).not.toContain("eth_chainId");
    expect(screen.queryByRole("button", OFFER)).toBeNull();
    expect(screen.queryByText("0x7099…79C8")).toBeNull();
  });

  it("is offered next to an injected wallet, which still connects as before", async () => {
    const request = vi.fn(async ({ method }: { method: string }) => {
      if (method === "eth_accounts") return [];
      if (method === "eth_chainId") return "0x7a69";
      if (method === "eth_requestAccounts") return ["0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"];
      throw new Error(`unexpected ${method}`);
    });
    window.ethereum = { request, on: vi.fn(), removeListener: vi.fn() } as unknown as NonNullable<Window["ethereum"]>;
    serve(31337, devnet.url);
    renderApp();
    await screen.findByRole("button", OFFER);
    fireEvent.click(screen.getByRole("button", { name: "Connect wallet" }));
    await screen.findByText("0xf39F…2266");
    expect(screen.queryByRole("button", OFFER)).toBeNull();
    expect(screen.queryByRole("note")).toBeNull();
  });
});
