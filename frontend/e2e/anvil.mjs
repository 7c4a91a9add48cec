// A throwaway anvil for the browser smoke test: the binary `make setup` installs under the repository's
// node_modules (chain/paths.py ANVIL_BINARY), on a free 127.0.0.1 port, chain 31337, killed afterwards.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, rpcAnswers } from "./browser.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ANVIL_BINARY = process.env.ANVIL ?? resolve(repo, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");

/** Start anvil; resolves to `{ url, stop() }` once it answers `eth_chainId`. */
export async function startAnvil(chainId = 31337) {
  if (!existsSync(ANVIL_BINARY)) throw new Error(`no anvil at ${ANVIL_BINARY}: run \`make setup\` at the repository root (or set ANVIL)`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(ANVIL_BINARY, ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--silent"], { stdio: "ignore" });
  let exited = null;
  child.once("exit", (code) => (exited = code ?? -1));
  const until = Date.now() + 15_000;
  while (!(await rpcAnswers(url))) {
    if (exited !== null) throw new Error(`anvil exited (${exited}) before answering on ${url}`);
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`anvil did not answer on ${url} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise((done) => {
        if (exited !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}
