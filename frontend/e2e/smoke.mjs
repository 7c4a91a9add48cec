// Smoke test in headless Chromium: a gateway (no indexer) serves the built dApp on a free 127.0.0.1 port;
// the test opens it, walks the navigation, checks the wallet button, and saves screenshots to
// build/e2e-screenshots/. With anvil answering on the RPC URL, a dev wallet is injected and connected.
//
//   npm run build && npm run e2e        (Debian chromium: apt-get install -y chromium)
// Env: CHROMIUM (default /usr/bin/chromium), RPC_URL (default http://127.0.0.1:8545), CROWDCOMPUTE (the CLI).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM, check, injectDevWallet, launchBrowser, passedCount, rpcAnswers } from "./browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const frontend = resolve(here, "..");
const repo = resolve(frontend, "..");
const shots = join(repo, "build", "e2e-screenshots");
const RPC_URL = process.env.RPC_URL ?? "http://127.0.0.1:8545";
const CLI = process.env.CROWDCOMPUTE ?? join(repo, ".venv", "bin", "crowdcompute");

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

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
  const dataDir = mkdtempSync(join(tmpdir(), "crowd-e2e-gateway-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gateway = spawn(CLI, ["gateway", "serve", "--host", "127.0.0.1", "--port", String(port), "--no-indexer"], {
    cwd: repo,
    env: { ...process.env, CROWDCOMPUTE_GATEWAY_DATA_DIR: dataDir, CROWDCOMPUTE_GATEWAY_RPC_URL: RPC_URL, CROWDCOMPUTE_GATEWAY_LOG_LEVEL: "WARNING" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  let browser;
  try {
    await waitFor(`${base}/healthz`, 30_000);
    const withWallet = await rpcAnswers(RPC_URL);
    browser = await launchBrowser();
    const { page, errors } = browser;
    if (withWallet) await injectDevWallet(page, RPC_URL);

    await page.goto(`${base}/`);
    await page.getByText("jobs posted").waitFor();
    check(true, "the home page renders the market totals");
    const connect = page.getByRole("button", { name: "Connect wallet" });
    await connect.waitFor();
    check(true, "the connect button shows while no wallet is connected");
    await page.screenshot({ path: join(shots, "01-home.png"), fullPage: true });

    if (withWallet) {
      await connect.click();
      await page.getByText("0xf39F…2266").waitFor();
      check(true, "the injected dev wallet connects and shows its account");
    } else {
      await connect.click();
      await page.getByText(/No browser wallet found/).waitFor();
      check(true, "without a wallet, the connect button explains what is missing");
    }
    await page.screenshot({ path: join(shots, "02-wallet.png") });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    check(page.url().endsWith("#/jobs"), "navigation to Jobs uses a hash route");
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

    await page.goto(`${base}/#/jobs/1`);
    await page.getByText("Job 1 is not in the index").waitFor();
    check(true, "a job the index does not have shows its empty state");
    await page.screenshot({ path: join(shots, "06-job-missing.png") });

    await page.goto(`${base}/#/nowhere`);
    await page.getByText("This page does not exist").waitFor();
    check(errors.length === 0, `no uncaught errors in the page${errors.length ? `: ${errors.join("; ")}` : ""}`);
    console.log(`screenshots in ${shots}`);
    console.log(`smoke: ${passedCount()} passed, 0 failed`);
  } finally {
    await browser?.close();
    gateway.kill("SIGTERM");
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
