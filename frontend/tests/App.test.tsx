// @vitest-environment happy-dom
import { act, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../src/App";
import { ChainProvider } from "../src/lib/wallet";

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
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function gateway(request: RequestInfo | URL): Promise<Response> {
  const url = new URL(typeof request === "string" ? request : request instanceof URL ? request.href : request.url);
  if (url.pathname === "/stats") return Promise.resolve(json(STATS));
  if (url.pathname === "/jobs") return Promise.resolve(json({ data: [], count: 0 }));
  if (url.pathname === "/providers") return Promise.resolve(json({ data: [], count: 0 }));
  if (url.pathname === "/readyz") {
    return Promise.resolve(json({ ready: false, waiting_for: ["rpc"], checks: [], last_block: null, safe_head: null }, 503));
  }
  return Promise.resolve(new Response("<!doctype html>", { headers: { "content-type": "text/html" } }));
}

function renderApp() {
  return render(
    <ChainProvider>
      <App />
    </ChainProvider>,
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
    const connect = screen.getByRole("button", { name: "Connect wallet" });
    act(() => connect.click());
    expect(screen.getByText(/^No browser wallet found/)).toBeTruthy();
    expect(await screen.findByText("No jobs yet")).toBeTruthy();
    expect(await screen.findByText("gateway waiting for: rpc")).toBeTruthy();
  });

  it("navigates between pages by hash", async () => {
    renderApp();
    act(() => {
      window.location.hash = "#/providers";
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    });
    expect(await screen.findByText("No providers registered yet")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Providers" }).className).toBe("active");
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
