// Which chain, RPC and market the dApp talks to. In order: the gateway's `GET /config` (when it serves
// one), build-time `VITE_*` variables, deployments/31337.json as it was at build time, then anvil's defaults.
import { defineChain, getAddress, isAddress, type Address, type Chain, type PublicClient } from "viem";
import { buildDeployment } from "../generated/deployment";
import { apiUrl, type ConfigPublic } from "./api";

export interface AppConfig {
  chainId: number;
  rpcUrl: string;
  market: Address | null;
  token: Address | null;
  deploymentBlock: bigint;
  /** Runtime image name -> the image id this network's nodes run (from the gateway; may be empty). */
  runtimeImages: Record<string, string>;
  source: "gateway" | "environment" | "build" | "devnet" | "default";
}

export const DEFAULT_CHAIN_ID = 31337;
/** Where `crowdcompute devnet up` puts the market: dev account 0's first deployment on a fresh anvil. */
export const DEVNET_MARKET: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/** The well-formed `name -> sha256:...` pairs of a `runtime_images` value; anything else is dropped. */
function imageIds(value: unknown): Record<string, string> {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string" && IMAGE_ID.test(entry[1])));
}

function address(value: unknown): Address | null {
  return typeof value === "string" && isAddress(value, { strict: false }) ? getAddress(value) : null;
}

/** A `/config` document (snake_case like the rest of the API), or null when it is not one. */
export function parseGatewayConfig(body: unknown): AppConfig | null {
  if (!body || typeof body !== "object") return null;
  // Typed from the generated schema, so a renamed field fails the typecheck; values are still checked.
  const raw = body as Partial<Record<keyof ConfigPublic, unknown>>;
  const chainId = Number(raw.chain_id);
  if (!Number.isInteger(chainId) || chainId <= 0 || typeof raw.rpc_url !== "string") return null;
  return {
    chainId,
    rpcUrl: raw.rpc_url,
    market: address(raw.market),
    token: address(raw.token),
    deploymentBlock: BigInt(Number(raw.deployment_block ?? 0) || 0),
    runtimeImages: imageIds(raw.runtime_images),
    source: "gateway",
  };
}

export function staticConfig(env: Record<string, string | undefined> = import.meta.env): AppConfig {
  const envMarket = address(env.VITE_MARKET_ADDRESS);
  if (env.VITE_RPC_URL || envMarket) {
    return {
      chainId: Number(env.VITE_CHAIN_ID ?? DEFAULT_CHAIN_ID),
      rpcUrl: env.VITE_RPC_URL ?? DEFAULT_RPC_URL,
      market: envMarket,
      token: address(env.VITE_TOKEN_ADDRESS),
      deploymentBlock: BigInt(env.VITE_DEPLOYMENT_BLOCK ?? 0),
      runtimeImages: {},
      source: "environment",
    };
  }
  if (buildDeployment) {
    return {
      chainId: buildDeployment.chainId,
      rpcUrl: DEFAULT_RPC_URL,
      market: address(buildDeployment.market),
      token: address(buildDeployment.token),
      deploymentBlock: BigInt(buildDeployment.blockNumber),
      runtimeImages: {},
      source: "build",
    };
  }
  return {
    chainId: DEFAULT_CHAIN_ID,
    rpcUrl: DEFAULT_RPC_URL,
    market: null,
    token: null,
    deploymentBlock: 0n,
    runtimeImages: {},
    source: "default",
  };
}

/** The config the page should use; never throws (an older gateway without `/config` falls through). */
export async function loadConfig(fetcher: typeof fetch = fetch): Promise<AppConfig> {
  try {
    // The page waits for this answer before it starts: give up after a while and use the fallbacks.
    const response = await fetcher(apiUrl("/config"), {
      headers: { Accept: "application/json" },
      ...(typeof AbortSignal.timeout === "function" ? { signal: AbortSignal.timeout(10_000) } : {}),
    });
    // The gateway answers unknown paths with the dApp's index.html: only JSON counts.
    if (response.ok && (response.headers.get("content-type") ?? "").includes("json")) {
      const parsed = parseGatewayConfig(await response.json());
      if (parsed) return parsed;
    }
  } catch {
    // no gateway config: fall through
  }
  return staticConfig();
}

/**
 * With no market address from anywhere, on the dev chain: the devnet's market if the chain has code
 * there (a build made before `devnet up` still finds it). Otherwise the config as it was.
 */
export async function withDevnetMarket(config: AppConfig, client: Pick<PublicClient, "getCode">): Promise<AppConfig> {
  if (config.market || config.chainId !== DEFAULT_CHAIN_ID) return config;
  try {
    const code = await client.getCode({ address: DEVNET_MARKET });
    return code && code !== "0x" ? { ...config, market: DEVNET_MARKET, source: "devnet" } : config;
  } catch {
    return config;
  }
}

export function chainOf(config: Pick<AppConfig, "chainId" | "rpcUrl">): Chain {
  return defineChain({
    id: config.chainId,
    name: config.chainId === DEFAULT_CHAIN_ID ? "crowdcompute devnet" : `crowdcompute chain ${config.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
}
