// @vitest-environment happy-dom
// The paused-market banner, against a real anvil with the real market on it: the guardian (the deployer,
// dev account 0, on a dev chain) pauses the market, and every page shows the banner; unpaused, it goes.
import { render, screen, waitFor } from "@testing-library/react";
import { createWalletClient, http, publicActions } from "viem";
import { foundry } from "viem/chains";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { App } from "../src/App";
import { PAUSED_TEXT } from "../src/components/PausedBanner";
import { crowdMarketAbi } from "../src/lib/contracts";
import { AppProviders } from "../src/lib/wallet";
import { postJson, startAnvil, type Anvil } from "./helpers/anvil";
import { deployWithRefund, type RefundedMarket } from "./helpers/market";

const GUARDIAN = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"; // dev account 0, the deployer

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
    return new Response("<!doctype html>", { headers: { "content-type": "text/html" } });
  };
  vi.stubGlobal("fetch", vi.fn(fetcher));
}

/** The guardian's transaction, sent from anvil's unlocked dev account 0. */
async function guardian(functionName: "pause" | "unpause") {
  const client = createWalletClient({ chain: foundry, transport: http(devnet.url) }).extend(publicActions);
  const hash = await client.writeContract({ address: deployed.market, abi: crowdMarketAbi, functionName, account: GUARDIAN });
  await client.waitForTransactionReceipt({ hash, pollingInterval: 200 });
}

describe("the paused-market banner", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    window.localStorage.clear();
  });

  it("shows while the guardian has the market paused", async () => {
    await guardian("pause");
    serve();
    const { unmount } = render(
      <AppProviders>
        <App />
      </AppProviders>,
    );
    const banner = await screen.findByTestId("paused-banner", {}, { timeout: 10_000 });
    expect(banner.textContent).toBe(PAUSED_TEXT);
    unmount();

    await guardian("unpause");
    render(
      <AppProviders>
        <App />
      </AppProviders>,
    );
    await screen.findByRole("button", { name: "Use a local test wallet" });
    await waitFor(() => expect(screen.queryByTestId("paused-banner")).toBeNull());
  });
});
