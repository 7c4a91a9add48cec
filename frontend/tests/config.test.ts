import { describe, expect, it } from "vitest";
import type { ConfigPublic } from "../src/lib/api";
import { DEVNET_MARKET, loadConfig, parseGatewayConfig, staticConfig, withDevnetMarket, type AppConfig } from "../src/lib/config";

const MARKET = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

describe("which chain the dApp talks to", () => {
  it("reads the gateway's /config document", () => {
    expect(parseGatewayConfig({ chain_id: 31337, rpc_url: "http://127.0.0.1:8545", market: MARKET, deployment_block: 1 })).toMatchObject({
      chainId: 31337,
      market: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      token: null,
      deploymentBlock: 1n,
      source: "gateway",
    });
    expect(parseGatewayConfig({ chain_id: "x" })).toBeNull();
  });

  it("reads the document a gateway serves before any deployment (nulls, typed from the schema)", () => {
    const undeployed: ConfigPublic = {
      chain_id: 31337,
      rpc_url: "http://127.0.0.1:8545",
      market: null,
      token: null,
      deployment_block: null,
      runtime_images: { "crowdcompute/runtime-cpu:torch2.13": `sha256:${"ab".repeat(32)}`, "other:1": "latest" },
    };
    expect(parseGatewayConfig(undeployed)).toEqual({
      chainId: 31337,
      rpcUrl: "http://127.0.0.1:8545",
      market: null,
      token: null,
      deploymentBlock: 0n,
      runtimeImages: { "crowdcompute/runtime-cpu:torch2.13": `sha256:${"ab".repeat(32)}` },
      source: "gateway",
    });
  });

  it("falls back when /config answers with the dApp's index.html", async () => {
    const html = async () => new Response("<!doctype html>", { headers: { "content-type": "text/html" } });
    const config = await loadConfig(html as typeof fetch);
    expect(config.source).not.toBe("gateway");
    const json = async () =>
      new Response(JSON.stringify({ chain_id: 5, rpc_url: "http://rpc", market: MARKET }), { headers: { "content-type": "application/json" } });
    expect((await loadConfig(json as typeof fetch)).chainId).toBe(5);
  });

  it("takes VITE_* variables over the build-time deployment", () => {
    expect(staticConfig({ VITE_RPC_URL: "http://10.0.0.1:8545", VITE_MARKET_ADDRESS: MARKET, VITE_CHAIN_ID: "1337" })).toMatchObject({
      chainId: 1337,
      rpcUrl: "http://10.0.0.1:8545",
      source: "environment",
    });
  });

  it("finds the devnet's market when nothing names one and the chain has code there", async () => {
    const bare: AppConfig = {
      chainId: 31337,
      rpcUrl: "http://127.0.0.1:8545",
      market: null,
      token: null,
      deploymentBlock: 0n,
      runtimeImages: {},
      source: "default",
    };
    const withCode = { getCode: async () => "0x6080" as const };
    const empty = { getCode: async () => undefined };
    const down = { getCode: async () => Promise.reject(new Error("connection refused")) };
    expect(await withDevnetMarket(bare, withCode)).toMatchObject({ market: DEVNET_MARKET, source: "devnet" });
    expect(await withDevnetMarket(bare, empty)).toBe(bare);
    expect(await withDevnetMarket(bare, down)).toBe(bare);
    expect(await withDevnetMarket({ ...bare, chainId: 1 }, withCode)).toMatchObject({ market: null });
  });
});
