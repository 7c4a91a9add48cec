// Shared by the browser tests: headless Debian Chromium that reaches nothing but 127.0.0.1, a fresh
// profile per run, the dev wallet, and small helpers.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const DEV_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"; // anvil's first dev account
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** A browser context on a fresh profile; `close()` also removes the profile. */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "crowd-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return {
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Inject the dev wallet (e2e/devWallet.js) into every page the context opens. */
export async function injectDevWallet(page, rpcUrl, account = DEV_ACCOUNT) {
  const source = readFileSync(join(here, "devWallet.js"), "utf8");
  await page.addInitScript(`${source}(${JSON.stringify({ rpcUrl, account })})`);
}

export async function rpcAnswers(rpcUrl) {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1500),
    });
    return Boolean((await response.json()).result);
  } catch {
    return false;
  }
}

let passedChecks = 0;

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  passedChecks += 1;
  console.log(`ok - ${message}`);
}

/** How many checks passed so far (for the closing summary line). */
export function passedCount() {
  return passedChecks;
}
