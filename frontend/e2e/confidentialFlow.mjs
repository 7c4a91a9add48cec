// A confidential job's requester path in headless Chromium, against a running stack whose provider and
// validators open sealed bundles: connect the test wallet, pick JOB_DIR, switch "Confidential" on, post (the
// wallet signs the key message, the folder is sealed in the page, only ciphertext is uploaded), keep the tab
// open on the job page so its key agent releases the content key to the claimant, follow the job to
// "Accepted", then open and download the result in the page.
//
//   GATEWAY_URL=... RPC_URL=... JOB_DIR=/tmp/pinned-job node e2e/confidentialFlow.mjs
//
// Env as e2e/fullFlow.mjs (ACCOUNT, DOWNLOAD_DIR, ACCEPT_TIMEOUT_S, VERIFY_BLOCKS). The last stdout line is one
// JSON object describing what happened (for tests/e2e/test_browser_flow.py).
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEV_ACCOUNT, check, connectTestWallet, launchBrowser, passedCount, tarEntryNames } from "./browser.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(repo, "build", "e2e-screenshots");
const GATEWAY_URL = (process.env.GATEWAY_URL ?? "http://127.0.0.1:8000").replace(/\/$/, "");
const JOB_DIR = process.env.JOB_DIR;
const ACCOUNT = process.env.ACCOUNT ?? DEV_ACCOUNT;
const DOWNLOAD_DIR = process.env.DOWNLOAD_DIR ?? join(repo, "build", "e2e-downloads");
const ACCEPT_TIMEOUT_MS = Number(process.env.ACCEPT_TIMEOUT_S ?? 240) * 1000;
const VERIFY_BLOCKS = process.env.VERIFY_BLOCKS ?? "60";
const STATES = JSON.parse(readFileSync(new URL("../src/generated/openapi.json", import.meta.url), "utf8"))
  .components.schemas.JobPublic.properties.state.enum;
const TERMINAL = new Set(STATES.slice(STATES.indexOf("Submitted") + 1));

async function postConfidential(page) {
  await page.goto(`${GATEWAY_URL}/post`);
  await page.getByRole("heading", { name: "Post a training job" }).waitFor();
  await connectTestWallet(page, ACCOUNT);
  await page.locator('input[type="file"][webkitdirectory]').setInputFiles(JOB_DIR);
  await page.getByText("job.toml is valid").waitFor();
  await page.locator('input[name="verifyBlocks"]').fill(VERIFY_BLOCKS);
  await page.getByRole("checkbox", { name: /Confidential/ }).check();
  const note = await page.getByRole("note").filter({ hasText: "Stays readable" }).innerText();
  check(note.includes("Keep this tab open"), "the Confidential switch says the tab must stay open until a claim");
  await page.screenshot({ path: join(shots, "30-post-confidential.png"), fullPage: true });
  await page.getByRole("button", { name: /^Upload and post/ }).click();
  await page.waitForURL(/\/jobs\/\d+$/, { timeout: 120_000 });
  const jobId = Number(/\/jobs\/(\d+)$/.exec(page.url())[1]);
  // What reached the gateway (the stored bundle: two members, no plaintext) is checked by the pytest that
  // runs this script; Chromium does not hand a multipart body with a Blob to the page's request events.
  return jobId;
}

async function followJob(page, jobId) {
  const badge = page.locator(".job-head .badge:not(.sealed-badge)");
  await page.locator(".job-head .sealed-badge").waitFor({ timeout: 30_000 });
  check(true, `job ${jobId} shows the Confidential badge`);
  const seen = [];
  const until = Date.now() + ACCEPT_TIMEOUT_MS;
  for (;;) {
    const state = (await badge.innerText()).trim();
    if (seen[seen.length - 1] !== state) seen.push(state);
    if (TERMINAL.has(state)) return seen;
    if (Date.now() > until) throw new Error(`job ${jobId} still ${state} after ${ACCEPT_TIMEOUT_MS / 1000} s (seen: ${seen.join(" → ")})`);
    await page.waitForTimeout(500);
  }
}

async function main() {
  if (!JOB_DIR || !existsSync(join(JOB_DIR, "job.toml"))) throw new Error("JOB_DIR must be a job folder holding job.toml");
  mkdirSync(shots, { recursive: true });
  mkdirSync(DOWNLOAD_DIR, { recursive: true });
  const browser = await launchBrowser();
  try {
    const { page, errors } = browser;
    const jobId = await postConfidential(page);
    const states = await followJob(page, jobId);
    check(states[states.length - 1] === "Accepted", `job ${jobId} reached Accepted (${states.join(" → ")})`);
    const released = await page.getByText(/^Key released to 0x[0-9a-fA-F]{40} at block \d+/).innerText();
    check(true, `the tab's key agent released the content key (${released})`);
    const events = await page.locator("ul.key-events li").allInnerTexts();
    check(events.some((line) => line.includes("the requester (result key)")), "the provider sealed the result key to the requester");
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 60_000 }),
      page.getByRole("button", { name: "Open and download the result" }).click(),
    ]);
    const path = join(DOWNLOAD_DIR, `job-${jobId}-result.tar`);
    await download.saveAs(path);
    const bytes = readFileSync(path);
    const names = tarEntryNames(bytes);
    check(names.includes("model.pt") && !names.includes("SEALED"), `the opened result holds model.pt in the clear (${names.length} files)`);
    await page.screenshot({ path: join(shots, "31-confidential-accepted.png"), fullPage: true });
    check(errors.length === 0, `no uncaught errors in the page${errors.length ? `: ${errors.join("; ")}` : ""}`);
    console.log(`confidentialFlow: ${passedCount()} passed, 0 failed`);
    console.log(JSON.stringify({ jobId, states, released, keyEvents: events, download: { path, bytes: bytes.length, entries: names } }));
  } catch (error) {
    await browser.page.screenshot({ path: join(shots, "39-confidential-failure.png"), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
