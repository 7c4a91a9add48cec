// @vitest-environment happy-dom
// The Withdraw button beside the wallet balance, against a real anvil with the real market on it: a
// requester's refund from an Unverified job sits in its market balance (tests/helpers/market.ts), the header
// shows it with a Withdraw button, and pressing it moves the refund into the wallet. The gateway is a stub
// (/config names the market); every JSON-RPC call goes to the anvil.
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { createPublicClient, http } from "viem";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { App } from "../src/App";
import { crowdMarketAbi, crowdTokenAbi } from "../src/lib/contracts";
import { tokenAmount } from "../src/lib/format";
import { AppProviders } from "../src/lib/wallet";
import { postJson, startAnvil, type Anvil } from "./helpers/anvil";
import { deployWithRefund, type RefundedMarket } from "./helpers/market";

const REQUESTER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // dev account 1
const UNVERIFIED = 2;

let devnet: Anvil;
let deployed: RefundedMarket;

beforeAll(async () => {
  devnet = await startAnvil(31337);
  deployed = deployWithRefund(devnet.url);
}, 60_000);

afterAll(async () => {
  await devnet?.stop();
});

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
}

/** The page's fetch: /config names the market; RPC calls go to anvil; the lists are empty. */
function serve() {
  const fetcher = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    if (url.origin === new URL(devnet.url).origin) {
      const { status, text } = await postJson(devnet.url, String(init?.body ?? ""));
      return new Response(text, { status, headers: { "content-type": "application/json" } });
    }
    if (url.pathname === "/config") {
      return json({ chain_id: 31337, rpc_url: devnet.url, market: deployed.market, token: deployed.token, deployment_block: deployed.block, runtime_images: {} });
    }
    if (url.pathname === "/jobs" || url.pathname === "/providers") return json({ data: [], count: 0 });
    if (url.pathname === "/stats") return json({ jobs: 0, jobs_by_state: {}, providers: 0, validators: 0, votes: 0, budget_posted: "0", paid_to_providers: "0", rewards_to_providers: "0", slashed: "0", events_indexed: 0, last_block: 0, energy: { kwh: 0, gco2e: 0, jobs: 0, measured_jobs: 0, reported_by: "provider" } });
    return new Response("<!doctype html>", { headers: { "content-type": "text/html" } });
  };
  vi.stubGlobal("fetch", vi.fn(fetcher));
}

/** Reads straight from the anvil (the test's own client, through the stubbed fetch). */
function chain() {
  const client = createPublicClient({ transport: http(devnet.url) });
  return {
    marketBalance: async () => (await client.readContract({ address: deployed.market, abi: crowdMarketAbi, functionName: "accountOf", args: [REQUESTER] })).balance,
    wallet: () => client.readContract({ address: deployed.token, abi: crowdTokenAbi, functionName: "balanceOf", args: [REQUESTER] }),
  };
}

describe("the market balance and its Withdraw button", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    window.localStorage.clear();
  });

  it("shows a requester's refund and moves it into the wallet", async () => {
    expect(deployed.outcome).toBe(UNVERIFIED);
    expect(deployed.refund).toBeGreaterThan(0n);
    serve();
    const reads = chain();
    const before = await reads.wallet();
    render(
      <AppProviders>
        <App />
      </AppProviders>,
    );
    fireEvent.click(await screen.findByRole("button", { name: "Use a local test wallet" }));
    fireEvent.click(await screen.findByRole("button", { name: "Use this account" }));
    await screen.findByText("0x7099…79C8");

    const shown = await screen.findByTestId("market-balance", {}, { timeout: 10_000 });
    expect(shown.textContent).toBe(`+ ${tokenAmount(deployed.refund)} in the market`);
    fireEvent.click(screen.getByRole("button", { name: "Withdraw" }));

    const done = await screen.findByText(/^Withdrew /, {}, { timeout: 15_000 });
    expect(done.textContent).toContain(`Withdrew ${tokenAmount(deployed.refund)} to your wallet`);
    expect(await reads.marketBalance()).toBe(0n);
    expect(await reads.wallet()).toBe(before + deployed.refund);
    await waitFor(() => expect(screen.queryByRole("button", { name: "Withdraw" })).toBeNull());
    expect(screen.queryByTestId("market-balance")).toBeNull();
  });
});
