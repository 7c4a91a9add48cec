// @vitest-environment happy-dom
import { act, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../src/App";
import { AppProviders } from "../src/lib/wallet";

const STATS = {
  jobs: 3,
  jobs_by_state: { Open: 1, Accepted: 2 },
  providers: 2,
  validators: 3,
  votes: 6,
  budget_posted: "30000000000000000000",
  paid_to_providers: "20000000000000000000",
  rewards_to_providers: "2000000000000000000",
  slashed: "0",
  events_indexed: 20,
  last_block: 40,
  energy: { kwh: 0.75, gco2e: 300, jobs: 2, measured_jobs: 1, reported_by: "provider" },
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function gateway(request: RequestInfo | URL): Promise<Response> {
  const url = new URL(typeof request === "string" ? request : request instanceof URL ? request.href : request.url);
  // The default RPC (no node runs there in these tests): a JSON-RPC error, which viem does not retry.
  if (url.port === "8545") return Promise.resolve(json({ jsonrpc: "2.0", id: 1, error: { code: -32601, message: "no node in this test" } }));
  if (url.pathname === "/stats") return Promise.resolve(json(STATS));
  if (url.pathname === "/jobs") return Promise.resolve(json({ data: [], count: 0 }));
  if (url.pathname === "/providers") return Promise.resolve(json({ data: [], count: 0 }));
  if (url.pathname === "/jobs/7") return Promise.resolve(json({ code: "not_found", detail: "job 7 is not indexed" }, 404));
  if (url.pathname === "/readyz") {
    return Promise.resolve(json({ ready: false, waiting_for: ["rpc"], checks: [], last_block: null, safe_head: null }, 503));
  }
  return Promise.resolve(new Response("<!doctype html>", { headers: { "content-type": "text/html" } }));
}

function renderApp() {
  return render(
    <AppProviders>
      <App />
    </AppProviders>,
  );
}

describe("the app shell", () => {
  beforeEach(() => {
    vi.stubGlobal("fetch", vi.fn(gateway));
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    delete window.ethereum;
  });

  it("renders the market totals and explains a missing wallet", async () => {
    renderApp();
    expect(await screen.findByText("jobs posted")).toBeTruthy();
    // Energy and carbon from the providers' reports (GET /stats `energy`), labelled as theirs.
    expect(screen.getByText("energy of 2 jobs, as providers reported it")).toBeTruthy();
    expect(screen.getByText("750 Wh · 300 gCO₂e")).toBeTruthy();
    const connect = screen.getByRole("button", { name: "Connect wallet" });
    act(() => connect.click());
    expect(screen.getByText(/^No browser wallet found/)).toBeTruthy();
    expect(await screen.findByText("No jobs yet")).toBeTruthy();
    expect(await screen.findByText("gateway waiting for: rpc")).toBeTruthy();
  });

  it("navigates between pages on real URLs", async () => {
    renderApp();
    const nav = await screen.findByRole("navigation", { name: "Main" });
    act(() => within(nav).getByRole("link", { name: "Providers" }).click());
    expect(await screen.findByText("No providers registered yet")).toBeTruthy();
    expect(window.location.pathname).toBe("/providers");
    expect(within(nav).getByRole("link", { name: "Providers" }).className).toBe("active");
    await waitFor(() => expect(document.title).toBe("Providers · crowdcompute"));
  });

  it("opens a deep link to a job", async () => {
    window.history.replaceState(null, "", "/jobs/7");
    renderApp();
    expect(await screen.findByText("Job 7 is not in the index")).toBeTruthy();
    expect(within(screen.getByRole("navigation", { name: "Main" })).getByRole("link", { name: "Jobs" }).className).toBe("active");
  });


  it("offers to connect an injected wallet", async () => {
    const request = vi.fn(async ({ method }: { method: string }) => {
      if (method === "eth_accounts") return [];
      if (method === "eth_chainId") return "0x7a69";
      if (method === "eth_requestAccounts") return ["0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"];
      throw new Error(`unexpected ${method}`);
    });
    window.ethereum = { request, on: vi.fn(), removeListener: vi.fn() } as unknown as NonNullable<Window["ethereum"]>;
    renderApp();
    const button = await screen.findByRole("button", { name: "Connect wallet" });
    act(() => button.click());
    await waitFor(() => expect(screen.getByText("0xf39F…2266")).toBeTruthy());
    expect(request).toHaveBeenCalledWith({ method: "eth_requestAccounts" });
  });

  it("offers every wallet announced through EIP-6963 and connects the one chosen", async () => {
    const wallet = (account: string) => ({
      request: vi.fn(async ({ method }: { method: string }) => {
        if (method === "eth_accounts") return [];
        if (method === "eth_chainId") return "0x7a69";
        if (method === "eth_requestAccounts") return [account];
        throw new Error(`unexpected ${method}`);
      }),
      on: vi.fn(),
      removeListener: vi.fn(),
    });
    const wallets: [string, ReturnType<typeof wallet>][] = [
      ["Wallet A", wallet("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")],
      ["Wallet B", wallet("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")],
    ];
    const announce = () => {
      for (const [name, provider] of wallets) {
        const info = { uuid: `uuid-${name}`, name, icon: "data:image/svg+xml,%3Csvg/%3E", rdns: `org.example.${name.replace(" ", "").toLowerCase()}` };
        window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
      }
    };
    window.addEventListener("eip6963:requestProvider", announce);
    try {
      renderApp();
      const connect = await screen.findByRole("button", { name: "Connect wallet" });
      act(() => connect.click());
      const menu = await screen.findByRole("menu", { name: "Browser wallets" });
      expect(within(menu).getAllByRole("menuitem").map((item) => item.textContent)).toEqual(["Wallet A", "Wallet B"]);
      act(() => within(menu).getByRole("menuitem", { name: "Wallet B" }).click());
      await waitFor(() => expect(screen.getByText("0x7099…79C8")).toBeTruthy());
      expect(wallets[1]?.[1].request).toHaveBeenCalledWith({ method: "eth_requestAccounts" });
      expect(wallets[0]?.[1].request).not.toHaveBeenCalledWith({ method: "eth_requestAccounts" });
    } finally {
      window.removeEventListener("eip6963:requestProvider", announce);
    }
  });

  it("offers to switch a wallet on another chain, adding the chain when the wallet lacks it", async () => {
    let chainId = "0x1";
    const request = vi.fn(async ({ method, params }: { method: string; params?: unknown[] }) => {
      if (method === "eth_accounts") return ["0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"];
      if (method === "eth_chainId") return chainId;
      if (method === "wallet_switchEthereumChain") throw Object.assign(new Error("Unrecognized chain ID"), { code: 4902 });
      if (method === "wallet_addEthereumChain") {
        chainId = (params?.[0] as { chainId: string }).chainId;
        return null;
      }
      throw new Error(`unexpected ${method}`);
    });
    window.ethereum = { request, on: vi.fn(), removeListener: vi.fn() } as unknown as NonNullable<Window["ethereum"]>;
    renderApp();
    const button = await screen.findByRole("button", { name: "Switch to chain 31337" });
    act(() => button.click());
    await waitFor(() => expect(screen.queryByRole("button", { name: "Switch to chain 31337" })).toBeNull());
    const added = request.mock.calls.find(([call]) => call.method === "wallet_addEthereumChain")?.[0];
    expect(added?.params?.[0]).toMatchObject({ chainId: "0x7a69", rpcUrls: ["http://127.0.0.1:8545"] });
  });
});
