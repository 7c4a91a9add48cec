// Shared by the browser tests: headless Debian Chromium that reaches nothing but 127.0.0.1, a fresh
// profile per run, the injected dev wallet, connecting the dApp's own test wallet, and small helpers.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
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

/** An address as the dApp shows it (`0xf39F…2266`): checksummed in, first six and last four characters. */
export function shortAccount(address) {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

/**
 * Inject the dev wallet (e2e/devWallet.js) into every page the context opens; `announce`
 * ({ name, rdns, window }) has it announce itself through EIP-6963 as well.
 */
export async function injectDevWallet(page, rpcUrl, account = DEV_ACCOUNT, announce = undefined) {
  const source = readFileSync(join(here, "devWallet.js"), "utf8");
  await page.addInitScript(`${source}(${JSON.stringify({ rpcUrl, account, announce })})`);
}

export const TEST_WALLET_WARNING = "test wallet — local development chain only; anyone knows these keys";

/**
 * Connect the dApp's local test wallet (no injected wallet involved) as dev account `address`: open the
 * picker from the header, choose the account whose address matches, check the picker shows its address
 * and a balance, and use it. Returns the balance text the picker showed.
 */
export async function connectTestWallet(page, address) {
  await page.getByRole("button", { name: "Use a local test wallet" }).click();
  const picker = page.getByRole("dialog", { name: "Local test wallet" });
  await picker.getByText(TEST_WALLET_WARNING).waitFor();
  const select = picker.getByRole("combobox", { name: "Dev account" });
  const shown = picker.getByTestId("test-wallet-address");
  const options = await select.locator("option").evaluateAll((items) => items.map((item) => item.value));
  let found = false;
  for (const value of options) {
    await select.selectOption(value);
    if ((await shown.innerText()).trim() === address) {
      found = true;
      break;
    }
  }
  if (!found) throw new Error(`${address} is not one of the test wallet's dev accounts`);
  const balance = picker.getByTestId("test-wallet-balance");
  await page.waitForFunction((el) => el && !/reading/.test(el.textContent), await balance.elementHandle());
  const balanceText = (await balance.innerText()).trim();
  await picker.getByRole("button", { name: "Use this account" }).click();
  await page.locator(".topbar .account").getByText(shortAccount(address)).waitFor();
  return balanceText;
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
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

function tarField(header, start, length) {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString("utf8");
}

/**
 * The paths of the regular files in a ustar/PAX tar (the result archives providers pin), `./` stripped.
 * Throws when the bytes are not a tar, so a download of an HTML error page fails loudly.
 */
export function tarEntryNames(bytes) {
  const names = [];
  let offset = 0;
  let paxPath = null;
  while (offset + 512 <= bytes.length) {
    const header = bytes.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) return names;
    if (tarField(header, 257, 6) !== "ustar") throw new Error(`not a tar archive: no ustar header at byte ${offset}`);
    const size = parseInt(tarField(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] || 48);
    const body = bytes.subarray(offset + 512, offset + 512 + size);
    if (type === "x") {
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString("utf8"))?.[1] ?? null;
    } else {
      const prefix = tarField(header, 345, 155);
      const name = paxPath ?? (prefix ? `${prefix}/${tarField(header, 0, 100)}` : tarField(header, 0, 100));
      if (type === "0") names.push(name.replace(/^\.\//, ""));
      paxPath = null;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error("not a tar archive: it ends without the end-of-archive blocks");
}
