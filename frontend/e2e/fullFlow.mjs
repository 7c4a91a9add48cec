// The requester's whole path in headless Chromium, against a running stack (gateway with its indexer,
// anvil, a provider, validators): connect the dApp's local test wallet (no browser wallet installed, as a
// newcomer after `make demo`), pick a job folder, post it, follow the job page to "Accepted" (timeline,
// live logs, loss, votes with evidence), download the result, then visit the jobs list, the provider's
// dashboard and the leaderboard. Screenshots go to build/e2e-screenshots/.
//
//   GATEWAY_URL=http://127.0.0.1:8000 RPC_URL=http://127.0.0.1:8545 JOB_DIR=/tmp/pinned-job node e2e/fullFlow.mjs
//
// JOB_DIR is a job folder the stack's provider can run (runtime pinned to its image id, a short schedule).
// Env: ACCOUNT (the wallet's anvil dev account, checksummed; default account 0), WALLET (`test`, the default:
// the dApp's own test wallet signs as ACCOUNT; `injected`: e2e/devWallet.js, which anvil signs for), RUNTIME_IMAGE_ID (the id
// the gateway advertises in /config `runtime_images`: an example template must get pinned to it; unset,
// the example must be refused as unrunnable), DOWNLOAD_DIR (default build/e2e-downloads),
// ACCEPT_TIMEOUT_S (default 240), VERIFY_BLOCKS (voting window, default 60).
// The last stdout line is one JSON object describing what happened (for tests/e2e/test_browser_flow.py).
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEV_ACCOUNT,
  TEST_WALLET_WARNING,
  check,
  connectTestWallet,
  injectDevWallet,
  launchBrowser,
  passedCount,
  shortAccount,
  tarEntryNames,
} from "./browser.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(repo, "build", "e2e-screenshots");
const GATEWAY_URL = (process.env.GATEWAY_URL ?? "http://127.0.0.1:8000").replace(/\/$/, "");
const RPC_URL = process.env.RPC_URL ?? "http://127.0.0.1:8545";
const JOB_DIR = process.env.JOB_DIR;
const ACCOUNT = process.env.ACCOUNT ?? DEV_ACCOUNT;
const WALLET = process.env.WALLET ?? "test";
if (!["test", "injected"].includes(WALLET)) throw new Error(`WALLET must be "test" or "injected", not ${JSON.stringify(WALLET)}`);
const RUNTIME_IMAGE_ID = process.env.RUNTIME_IMAGE_ID ?? null;
const DOWNLOAD_DIR = process.env.DOWNLOAD_DIR ?? join(repo, "build", "e2e-downloads");
const ACCEPT_TIMEOUT_MS = Number(process.env.ACCEPT_TIMEOUT_S ?? 240) * 1000;
const VERIFY_BLOCKS = process.env.VERIFY_BLOCKS ?? "60";
// The gateway's job states (its generated schema), terminal from the first outcome on.
const STATES = JSON.parse(readFileSync(new URL("../src/generated/openapi.json", import.meta.url), "utf8"))
  .components.schemas.JobPublic.properties.state.enum;
const TERMINAL = new Set(STATES.slice(STATES.indexOf("Submitted") + 1));

const screenshots = [];
async function shoot(page, name, fullPage = true) {
  const path = join(shots, name);
  // A full-page shot of a scrolled page paints the sticky top bar mid-page.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage });
  screenshots.push(path);
}

/**
 * The examples ship runtime/image.lock's id: picking one must leave it where the gateway advertises that
 * id, pin it to the advertised id where the network built another, and with none advertised keep it
 * (a real id). Then go back to the source choice.
 */
async function checkExampleTemplate(page) {
  await page.locator("button.example").first().click();
  await page.getByText("job.toml is valid").waitFor();
  const post = page.getByRole("button", { name: /^Upload and post/ });
  const manifest = await page.locator("textarea.manifest-editor").inputValue();
  if (RUNTIME_IMAGE_ID) {
    if (!manifest.includes(`digest = "${RUNTIME_IMAGE_ID}"`)) {
      await page.getByRole("status").filter({ hasText: "Runtime pinned to" }).waitFor();
    }
    const pinned = await page.locator("textarea.manifest-editor").inputValue();
    check(pinned.includes(`digest = "${RUNTIME_IMAGE_ID}"`), "an example template pins the runtime image the gateway advertises");
    check(await post.isEnabled(), "the example can be posted");
  } else {
    check(/digest = "sha256:[0-9a-f]{64}"/.test(manifest) && !manifest.includes(`sha256:${"0".repeat(64)}`), "an example template pins a real runtime image id (the lock's)");
  }
  await shoot(page, "19-post-example.png");
  await page.getByRole("button", { name: "Choose another" }).click();
}

/**
 * A newcomer without MetaMask: no injected wallet; the dApp offers its test wallet on the dev chain, shows
 * the account's balance (the requester is funded with CROWD), connects under the warning banner, and
 * remembers the choice across a reload. Everything this run signs afterwards is signed by that wallet.
 */
async function connectWithTestWallet(page) {
  check(await page.evaluate(() => window.ethereum === undefined), "no browser wallet is installed");
  const balance = await connectTestWallet(page, ACCOUNT);
  check(/CROWD/.test(balance) && !/^0 CROWD/.test(balance), `the test wallet's picker shows ${shortAccount(ACCOUNT)}'s balance (${balance})`);
  const banner = page.locator(".test-wallet-banner");
  check((await banner.innerText()).includes(TEST_WALLET_WARNING), "the test wallet connects under its warning banner");
  await page.waitForFunction(() => !/—/.test(document.querySelector(".topbar .balance")?.textContent ?? "—"));
  await shoot(page, "18-test-wallet.png", false);
  await page.reload();
  await page.locator(".topbar .account").getByText(shortAccount(ACCOUNT)).waitFor();
  await banner.waitFor();
  check(true, "the test wallet choice is remembered across a reload");
}

/** Every JSON-RPC method the page sends to RPC_URL, in order (to tell who signed). */
function recordRpcMethods(page) {
  const methods = [];
  page.on("request", (request) => {
    if (request.method() !== "POST" || !request.url().startsWith(RPC_URL)) return;
    try {
      const body = JSON.parse(request.postData() ?? "null");
      for (const call of Array.isArray(body) ? body : [body]) if (call?.method) methods.push(call.method);
    } catch {
      // not JSON-RPC
    }
  });
  return methods;
}

/** Post JOB_DIR through the folder picker; returns the new job's id once the job page shows it. */
async function postJob(page) {
  await page.goto(`${GATEWAY_URL}/post`);
  await page.getByRole("heading", { name: "Post a training job" }).waitFor();
  // The footer names where the chain settings came from when it is not the gateway's GET /config.
  const footer = page.locator("footer");
  await footer.getByText(`RPC ${RPC_URL}`).waitFor({ timeout: 15_000 });
  check(!(await footer.innerText()).includes("settings)"), "the dApp takes chain, RPC and market from the gateway's /config");

  if (WALLET === "test") await connectWithTestWallet(page);
  else {
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.getByText(shortAccount(ACCOUNT)).waitFor();
    check(true, "the injected dev wallet connects");
  }

  await checkExampleTemplate(page);

  // The folder picker (an <input webkitdirectory>): the browser hands the dApp every file under JOB_DIR.
  await page.locator('input[type="file"][webkitdirectory]').setInputFiles(JOB_DIR);
  await page.getByText("job.toml is valid").waitFor();
  check(true, "the picked folder's job.toml is validated in the browser");
  await page.locator('input[name="verifyBlocks"]').fill(VERIFY_BLOCKS);
  await shoot(page, "20-post-form.png");

  await page.getByRole("button", { name: /^Upload and post/ }).click();
  await page.waitForURL(/\/jobs\/\d+$/, { timeout: 90_000 });
  const jobId = Number(/\/jobs\/(\d+)$/.exec(page.url())[1]);
  await page.getByRole("heading", { name: new RegExp(`^Job #${jobId}`) }).waitFor();
  check(true, `job ${jobId} was uploaded, signed, posted and indexed`);
  return jobId;
}

/** Watch the job page until the job closes; returns every state seen, in order. */
async function followJob(page, jobId) {
  const badge = page.locator(".job-head .badge");
  const seen = [];
  let runningShot = false;
  const until = Date.now() + ACCEPT_TIMEOUT_MS;
  for (;;) {
    const state = (await badge.innerText()).trim();
    if (seen[seen.length - 1] !== state) {
      seen.push(state);
      console.log(`job ${jobId}: ${state}`);
    }
    if (!runningShot && (state === "Claimed" || state === "Submitted") && (await page.locator("pre.log-lines .log-line").count()) > 0) {
      await shoot(page, "21-job-running.png");
      runningShot = true;
    }
    if (TERMINAL.has(state)) return { seen, runningShot };
    if (Date.now() > until) throw new Error(`job ${jobId} still ${state} after ${ACCEPT_TIMEOUT_MS / 1000} s (seen: ${seen.join(" → ")})`);
    await page.waitForTimeout(500);
  }
}

async function checkJobPage(page, jobId) {
  const timeline = page.getByRole("list", { name: "Job timeline" });
  const stepStatuses = await timeline.locator("li.tl-step").evaluateAll((items) => items.map((item) => item.className.replace("tl-step tl-", "")));
  const titles = await timeline.locator(".tl-title").allInnerTexts();
  check(
    stepStatuses.length === 6 && stepStatuses.every((status) => status === "done"),
    `the timeline shows every step done (${titles.map((t) => t.split("\n")[0].trim()).join(", ")})`,
  );
  check(titles.some((title) => title.startsWith("Accepted")), "the timeline ends in Accepted");

  const logLines = await page.locator("pre.log-lines .log-line").count();
  check(logLines > 0, `the live log shows the container's output (${logLines} lines)`);
  // The chart library loads with the first chart: wait for it to draw.
  const chart = page.locator("section.card", { has: page.getByRole("heading", { name: "Training loss" }) }).locator(".chart canvas");
  await chart.first().waitFor({ timeout: 10_000 });
  check((await chart.count()) > 0, "the training loss is plotted from the metrics lines");

  const votes = page.locator("table.votes tbody tr");
  await votes.first().waitFor();
  const rows = await votes.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.innerText.trim())));
  // One row per seat; the seats that voted show the vote finalize revealed.
  const revealed = rows.filter((cells) => cells[2] === "accept" || cells[2] === "reject");
  const accepts = revealed.filter((cells) => cells[2] === "accept" && cells[6] === "digests match");
  check(accepts.length * 2 > rows.length, `a majority of the committee's seats voted accept with matching digests (${accepts.length} of ${rows.length} seats)`);
  check(
    revealed.every((cells) => /^\d+$/.test(cells[3]) && cells[4].length > 0 && cells[4] === cells[5]),
    "each revealed vote shows its evidence: the segment re-run and both digests",
  );

  const resultCid = (await page.locator(".result .mono").innerText()).trim();
  check(/^b[a-z2-7]{20,}$/.test(resultCid), `the result CID is shown (${resultCid})`);
  const providerHref = await page
    .locator("dl.facts div", { has: page.locator("dt", { hasText: /^Provider$/ }) })
    .locator("a")
    .getAttribute("href");
  const provider = /^\/providers\/(0x[0-9a-f]{40})$/.exec(providerHref ?? "")?.[1] ?? null;
  check(provider !== null, `the provider is linked from the job page (${provider})`);
  await shoot(page, "22-job-accepted.png");
  return { logLines, votes: rows, resultCid, provider };
}

async function downloadResult(page, jobId, resultCid) {
  mkdirSync(DOWNLOAD_DIR, { recursive: true });
  const link = page.getByRole("link", { name: "Download result" });
  check((await link.getAttribute("href")).endsWith(`/ipfs/${resultCid}`), "the download link points at the result CID");
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const path = join(DOWNLOAD_DIR, `job-${jobId}-result.tar`);
  await download.saveAs(path);
  const failure = await download.failure();
  check(failure === null, `the browser downloaded the result${failure ? `: ${failure}` : ""}`);
  const bytes = readFileSync(path);
  const names = tarEntryNames(bytes);
  check(bytes.length > 0 && names.includes("model.pt"), `the download is a tar archive holding model.pt (${bytes.length} bytes, ${names.length} entries)`);
  return { path, bytes: bytes.length, entries: names };
}

async function visitPages(page, jobId, provider) {
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Jobs" }).click();
  await page.getByRole("heading", { name: "Jobs" }).waitFor();
  const row = page.locator("table.jobs tbody tr", { has: page.getByRole("link", { name: `#${jobId}`, exact: true }) });
  await row.getByText("Accepted").waitFor();
  check(true, `the jobs list shows job ${jobId} as Accepted`);
  await shoot(page, "23-jobs.png");

  // A deep link, loaded from the gateway (which answers any page's URL with the dApp).
  await page.goto(`${GATEWAY_URL}/providers/${provider}`);
  await page.locator(".stats > *", { hasText: "completed jobs" }).waitFor();
  // The index may lag the job page by a poll: wait for the dashboard to count the job.
  await page.waitForFunction(
    () => [...document.querySelectorAll(".stats > *")].some((el) => el.textContent.includes("completed jobs") && !/^\s*0/.test(el.textContent)),
    null,
    { timeout: 20_000 },
  );
  const recent = page.locator("table tbody tr", { has: page.getByRole("link", { name: `#${jobId}`, exact: true }) });
  await recent.getByText("Accepted").waitFor();
  check(true, "the provider's dashboard counts the completed job and lists it");
  const earnings = page.locator("section.card", { hasText: "Earnings over time" }).locator(".chart canvas");
  await earnings.first().waitFor({ timeout: 10_000 });
  check((await earnings.count()) > 0, "the dashboard plots earnings over time");
  await shoot(page, "24-provider.png");

  await nav.getByRole("link", { name: "Providers" }).click();
  await page.getByRole("heading", { name: "Providers" }).waitFor();
  const leader = page.locator("table.leaderboard tbody tr").first();
  await leader.waitFor();
  const cells = await leader.locator("td").allInnerTexts();
  check(cells[0] === "1" && Number(cells[3]) >= 1, `the leaderboard ranks a provider with completed work first (${cells[3]} completed)`);
  await shoot(page, "25-leaderboard.png");
}

async function main() {
  if (!JOB_DIR || !existsSync(join(JOB_DIR, "job.toml"))) throw new Error("JOB_DIR must be a job folder holding job.toml (pinned to the stack's runtime image)");
  if (!statSync(JOB_DIR).isDirectory()) throw new Error(`JOB_DIR ${JOB_DIR} is not a folder`);
  mkdirSync(shots, { recursive: true });
  rmSync(join(shots, "29-failure.png"), { force: true }); // a previous run's
  const started = Date.now();
  const browser = await launchBrowser();
  try {
    const { page, errors } = browser;
    if (WALLET === "injected") await injectDevWallet(page, RPC_URL, ACCOUNT);
    const rpcMethods = recordRpcMethods(page);
    const jobId = await postJob(page);
    if (WALLET === "test") {
      // The demo's anvil would sign for its unlocked dev accounts too: the test wallet must not ask it.
      const asked = rpcMethods.filter((method) => /^eth_(sendTransaction|sign)/.test(method));
      check(
        rpcMethods.includes("eth_sendRawTransaction") && asked.length === 0,
        `the test wallet signed in the page: postJob went out raw, the node was never asked to sign${asked.length ? ` (asked: ${asked.join(", ")})` : ""}`,
      );
    }
    const postedMs = Date.now() - started;
    const followed = await followJob(page, jobId);
    check(followed.seen[followed.seen.length - 1] === "Accepted", `job ${jobId} reached Accepted (${followed.seen.join(" → ")})`);
    const job = await checkJobPage(page, jobId);
    const download = await downloadResult(page, jobId, job.resultCid);
    await visitPages(page, jobId, job.provider);
    check(errors.length === 0, `no uncaught errors in the page${errors.length ? `: ${errors.join("; ")}` : ""}`);
    console.log(`fullFlow: ${passedCount()} passed, 0 failed`);
    console.log(
      JSON.stringify({
        jobId,
        account: ACCOUNT,
        wallet: WALLET,
        states: followed.seen,
        runningScreenshot: followed.runningShot,
        resultCid: job.resultCid,
        provider: job.provider,
        logLines: job.logLines,
        votes: job.votes.map((cells) => ({ slot: Number(cells[0]), vote: cells[2], segment: Number(cells[3]), evidence: cells[6] })),
        download,
        screenshots,
        checks: passedCount(),
        postedMs,
        totalMs: Date.now() - started,
      }),
    );
  } catch (error) {
    await browser.page.screenshot({ path: join(shots, "29-failure.png"), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
