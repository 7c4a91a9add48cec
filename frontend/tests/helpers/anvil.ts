/// <reference types="node" />
// A real anvil for the tests that need a chain: the binary `make setup` installs under the repository's
// node_modules (as chain/paths.py ANVIL_BINARY), on a free 127.0.0.1 port, with the chain id asked for.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const ANVIL_BINARY = process.env.ANVIL ?? resolve(repo, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");

export interface Anvil {
  url: string;
  chainId: number;
  stop: () => Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/**
 * One JSON-RPC POST through node:http: the component tests run under happy-dom, whose `fetch` is the
 * page's, so the stubbed page fetch forwards RPC calls to anvil with this.
 */
export function postJson(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const call = request(url, { method: "POST", headers: { "content-type": "application/json" } }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => done({ status: response.statusCode ?? 0, text }));
    });
    call.on("error", fail);
    call.end(body);
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const { text } = await postJson(url, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }));
    return Boolean((JSON.parse(text) as { result?: string }).result);
  } catch {
    return false;
  }
}

/** Anvil on a free port; `extraArgs` go to its command line (e.g. `--mnemonic-random`). */
export async function startAnvil(chainId = 31337, extraArgs: string[] = []): Promise<Anvil> {
  if (!existsSync(ANVIL_BINARY)) throw new Error(`no anvil at ${ANVIL_BINARY}: run \`make setup\` at the repository root (or set ANVIL)`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(ANVIL_BINARY, ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--silent", ...extraArgs], {
    stdio: "ignore",
  });
  let exited: number | null = null;
  child.once("exit", (code) => (exited = code ?? -1));
  const until = Date.now() + 15_000;
  while (!(await answers(url))) {
    if (exited !== null) throw new Error(`anvil exited (${exited}) before answering on ${url}`);
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`anvil did not answer on ${url} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    chainId,
    stop: () =>
      new Promise<void>((done) => {
        if (exited !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

/** A 127.0.0.1 URL where nothing listens (a port just freed). */
export async function deadRpcUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}
