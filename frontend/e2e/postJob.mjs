// Posts the first example job through the dApp with the dev wallet, against a running devnet and gateway
// (with its indexer), and waits for the job page. For the end-to-end suite; prints the new job's id.
//
//   GATEWAY_URL=http://127.0.0.1:8000 RPC_URL=http://127.0.0.1:8545 node e2e/postJob.mjs
// The dApp must have been built for that chain (GET /config, or VITE_RPC_URL / VITE_MARKET_ADDRESS), and the
// gateway must advertise the runtime image id (CROWDCOMPUTE_GATEWAY_RUNTIME_IMAGES) so the example is pinned.
// e2e/fullFlow.mjs follows a job further: to acceptance and a downloaded result.
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { check, injectDevWallet, launchBrowser } from "./browser.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(repo, "build", "e2e-screenshots");
const GATEWAY_URL = (process.env.GATEWAY_URL ?? "http://127.0.0.1:8000").replace(/\/$/, "");
const RPC_URL = process.env.RPC_URL ?? "http://127.0.0.1:8545";

async function main() {
  mkdirSync(shots, { recursive: true });
  const browser = await launchBrowser();
  try {
    const { page, errors } = browser;
    await injectDevWallet(page, RPC_URL);
    await page.goto(`${GATEWAY_URL}/post`);
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.getByText("0xf39F…2266").waitFor();
    await page.locator("button.example").first().click();
    await page.getByText("job.toml is valid").waitFor();
    const post = page.getByRole("button", { name: /^Upload and post/ });
    await post.click();
    await page.waitForURL(/\/jobs\/\d+$/, { timeout: 90_000 });
    const jobId = Number(/\/jobs\/(\d+)$/.exec(page.url())[1]);
    await page.getByRole("heading", { name: new RegExp(`^Job #${jobId}`) }).waitFor();
    check(true, `job ${jobId} was uploaded, posted and indexed`);
    await page.screenshot({ path: join(shots, "10-posted-job.png"), fullPage: true });
    check(errors.length === 0, `no uncaught errors in the page${errors.length ? `: ${errors.join("; ")}` : ""}`);
    console.log(JSON.stringify({ jobId }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
