// Smoke test in headless Chromium: a gateway (no indexer) serves the built dApp on a free 127.0.0.1 port,
// its RPC a fresh anvil (chain 31337) this script starts. The test opens the dApp without any browser
// wallet: the connect button explains, the local test wallet is offered, connects as dev account 1 with
// its banner, and is remembered across a reload. It walks the navigation on real URLs (deep links load
// from the gateway; the earlier hash links still land on their pages), then leaves the test wallet and
// connects an injected dev wallet instead; a last browser has two wallets announced through EIP-6963 and
// picks one. Screenshots go to build/e2e-screenshots/.
//
//   npm run build && npm run e2e        (Debian chromium: apt-get install -y chromium)
// Env: CHROMIUM (default /usr/bin/chromium), RPC_URL (an anvil to use instead of starting one),
// ANVIL (the anvil binary), CROWDCOMPUTE (the CLI).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startAnvil } from "./anvil.mjs";
import {
  CHROMIUM,
  DEV_ACCOUNT,
  TEST_WALLET_WARNING,
  check,
  connectTestWallet,
  freePort,
  injectDevWallet,
  launchBrowser,
  passedCount,
  rpcAnswers,
  shortAccount,
} from "./browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const frontend = resolve(here, "..");
const repo = resolve(frontend, "..");
const shots = join(repo, "build", "e2e-screenshots");
const REQUESTER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // anvil's dev account 1, the test wallet's default
const CLI = process.env.CROWDCOMPUTE ?? join(repo, ".venv", "bin", "crowdcompute");

async function waitFor(url, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

async function main() {
  if (!existsSync(join(frontend, "dist", "index.html"))) throw new Error("frontend/dist is missing: run `npm run build` first");
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  mkdirSync(shots, { recursive: true });
  const anvil = process.env.RPC_URL ? null : await startAnvil();
  const RPC_URL = process.env.RPC_URL ?? anvil.url;
  if (!(await rpcAnswers(RPC_URL))) throw new Error(`RPC_URL ${RPC_URL} does not answer eth_chainId: start anvil there, or leave RPC_URL unset`);
  const dataDir = mkdtempSync(join(tmpdir(), "crowd-e2e-gateway-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gateway = spawn(CLI, ["gateway", "serve", "--host", "127.0.0.1", "--port", String(port), "--no-indexer"], {
    cwd: repo,
    env: { ...process.env, CROWDCOMPUTE_GATEWAY_ENVIRONMENT: "development", CROWDCOMPUTE_GATEWAY_DATA_DIR: dataDir, CROWDCOMPUTE_GATEWAY_RPC_URL: RPC_URL, CROWDCOMPUTE_GATEWAY_LOG_LEVEL: "WARNING" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  let browser;
  let second;
  try {
    await waitFor(`${base}/healthz`, 30_000);
    browser = await launchBrowser();
    const { page, errors } = browser;

    await page.goto(`${base}/`);
    await page.getByText("jobs posted").waitFor();
    check(true, "the home page renders the market totals");
    const connect = page.getByRole("button", { name: "Connect wallet" });
    await connect.waitFor();
    check(true, "the connect button shows while no wallet is connected");
    await page.getByRole("button", { name: "Use a local test wallet" }).waitFor();
    check(await page.evaluate(() => window.ethereum === undefined), "with no browser wallet, the local test wallet is offered on the dev chain");
    await page.screenshot({ path: join(shots, "01-home.png"), fullPage: true });

    await connect.click();
    await page.getByText(/No browser wallet found. On this local development chain you can use the local test wallet/).waitFor();
    check(true, "without a wallet, the connect button explains what is missing and points at the test wallet");

    await page.getByRole("button", { name: "Use a local test wallet" }).click();
    const picker = page.getByRole("dialog", { name: "Local test wallet" });
    check((await picker.getByTestId("test-wallet-address").innerText()).trim() === REQUESTER, "the picker defaults to dev account 1");
    await picker.getByText("10,000 ETH").waitFor();
    check(true, "the picker shows the account's balance, read from the chain");
    await page.screenshot({ path: join(shots, "07-test-wallet-picker.png") });
    await picker.getByRole("button", { name: "Cancel" }).click();

    await connectTestWallet(page, REQUESTER);
    const banner = page.locator(".test-wallet-banner");
    check((await banner.innerText()).includes(TEST_WALLET_WARNING), "the test wallet connects dev account 1 under its warning banner");
    await page.screenshot({ path: join(shots, "08-test-wallet.png") });
    await page.reload();
    await page.locator(".topbar .account").getByText(shortAccount(REQUESTER)).waitFor();
    await banner.waitFor();
    check(
      (await page.evaluate(() => window.localStorage.getItem("crowdcompute.testWallet"))) === '{"account":1}',
      "the choice is kept in localStorage and reconnects after a reload",
    );

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    check(new URL(page.url()).pathname === "/jobs", "navigation to Jobs goes to its real URL, /jobs");
    await page.getByText(/No jobs yet|No jobs match/).waitFor();
    await page.screenshot({ path: join(shots, "03-jobs.png"), fullPage: true });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Providers" }).click();
    await page.getByRole("heading", { name: "Providers" }).waitFor();
    check(true, "navigation to Providers works");
    await page.screenshot({ path: join(shots, "04-providers.png"), fullPage: true });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Post a job" }).click();
    await page.getByRole("heading", { name: "Post a training job" }).waitFor();
    const example = page.locator("button.example").first();
    if (await example.count()) {
      await example.click();
      await page.getByText("job.toml is valid").waitFor();
      check(true, "an example job loads and its manifest checks out");
      const editor = page.locator("textarea.manifest-editor");
      const text = await editor.inputValue();
      await editor.fill(text.replace(/cpus = [0-9.]+/, "cpus = 0"));
      await page.locator('tr[data-field="resources.cpus"] .problem').getByText("must be > 0").waitFor();
      check(true, "an invalid edit shows its problem next to the field");
    }
    await page.screenshot({ path: join(shots, "05-post.png"), fullPage: true });

    await page.goto(`${base}/jobs/1`);
    await page.getByText("Job 1 is not in the index").waitFor();
    check(true, "a deep link to a job loads from the gateway; a job the index does not have shows its empty state");
    check((await page.title()) === "Job #1 · crowdcompute", "the page's title names the job");
    await page.screenshot({ path: join(shots, "06-job-missing.png") });
    await page.reload();
    await page.getByText("Job 1 is not in the index").waitFor();
    check(true, "the job page survives a reload");
    const api = await page.evaluate(async () => (await fetch("/jobs/1")).headers.get("content-type"));
    check(/json/.test(api ?? ""), "the API keeps its own path: GET /jobs/1 still answers JSON");

    await page.goto(`${base}/#/providers`);
    await page.getByRole("heading", { name: "Providers" }).waitFor();
    check(new URL(page.url()).pathname === "/providers", "an earlier hash link (/#/providers) lands on the page's real URL");

    await page.goto(`${base}/nowhere`);
    await page.getByText("This page does not exist").waitFor();
    check(true, "an unknown path shows the dApp's not-found page");

    // Leave the test wallet; an injected EIP-1193 wallet then connects as before.
    await page.getByRole("button", { name: "Test wallet" }).click();
    await page.getByRole("button", { name: "Stop using the test wallet" }).click();
    await page.getByRole("button", { name: "Connect wallet" }).waitFor();
    check((await banner.count()) === 0, "leaving the test wallet removes its banner");
    await injectDevWallet(page, RPC_URL);
    await page.reload();
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.locator(".topbar .account").getByText(shortAccount(DEV_ACCOUNT)).waitFor();
    check(true, "the injected dev wallet connects and shows its account");
    check((await page.getByRole("button", { name: "Use a local test wallet" }).count()) === 0, "with a wallet connected, the test wallet is no longer offered");
    await page.screenshot({ path: join(shots, "02-wallet.png") });
    check(errors.length === 0, `no uncaught errors in the page${errors.length ? `: ${errors.join("; ")}` : ""}`);

    // Two wallets installed side by side, each announced through EIP-6963 (neither takes window.ethereum):
    // the connect button lets the person choose, and the chosen one signs.
    second = await launchBrowser();
    const other = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"; // dev account 2
    await injectDevWallet(second.page, RPC_URL, DEV_ACCOUNT, { name: "Dev Wallet A", rdns: "org.crowdcompute.dev-a", window: false });
    await injectDevWallet(second.page, RPC_URL, other, { name: "Dev Wallet B", rdns: "org.crowdcompute.dev-b", window: false });
    await second.page.goto(`${base}/jobs`);
    await second.page.getByRole("heading", { name: "Jobs" }).waitFor();
    await second.page.getByRole("button", { name: "Connect wallet" }).click();
    const menu = second.page.getByRole("menu", { name: "Browser wallets" });
    const names = await menu.getByRole("menuitem").allInnerTexts();
    check(names.join(",") === "Dev Wallet A,Dev Wallet B", `both announced wallets are offered (${names.join(", ")})`);
    await second.page.screenshot({ path: join(shots, "09-wallet-choice.png") });
    await menu.getByRole("menuitem", { name: "Dev Wallet B" }).click();
    await second.page.locator(".topbar .account").getByText(shortAccount(other)).waitFor();
    check(await second.page.evaluate(() => window.ethereum === undefined), "the chosen EIP-6963 wallet connects without window.ethereum");
    check(second.errors.length === 0, `no uncaught errors in the second page${second.errors.length ? `: ${second.errors.join("; ")}` : ""}`);
    console.log(`screenshots in ${shots}`);
    console.log(`smoke: ${passedCount()} passed, 0 failed`);
  } finally {
    await browser?.close();
    await second?.close();
    gateway.kill("SIGTERM");
    await anvil?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
