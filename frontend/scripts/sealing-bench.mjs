// How fast the dApp seals and opens a file (src/lib/sealing/stream.ts: 1 MiB AES-256-GCM chunks read from Blob
// slices), run in Node's WebCrypto through Vite's module loader; a browser's WebCrypto is of the same kind. One
// stream of SIZE_MB (default 256, as the target), RUNS times each (default 3): medians and spreads in
// MB/s (10^6 bytes), with the machine's background (1-minute load before and after, busy cores from /proc/stat).
// Writes bench/results/dapp_sealing.json at the repository root.
//
//   node scripts/sealing-bench.mjs [--size-mb 256] [--runs 3]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "vite";

const frontend = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(frontend, "..");
const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const SIZE = option("size-mb", 256) * 1_000_000;
const RUNS = option("runs", 3);

/** CPU seconds the whole machine spent busy since boot (idle and iowait excluded), as crowdcompute/machine.py. */
function busySeconds() {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + (fields[4] ?? 0);
  return (fields.slice(0, 8).reduce((a, b) => a + b, 0) - idle) / 100;
}

function plaintext(size) {
  const parts = [];
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i += 65_536) crypto.getRandomValues(block.subarray(i, i + 65_536));
  for (let done = 0; done < size; done += block.length) parts.push(block.subarray(0, Math.min(block.length, size - done)));
  return new Blob(parts);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values) => [Math.min(...values), Math.max(...values)].map((v) => Math.round(v));

const server = await createServer({ root: frontend, logLevel: "error", server: { middlewareMode: true }, appType: "custom" });
try {
  const { sealStream, openStream } = await server.ssrLoadModule("/src/lib/sealing/stream.ts");
  const key = new Uint8Array(32).fill(7);
  const context = "result|chain=31337|job=1|attempt=0|path=model.pt";
  const plain = plaintext(SIZE);
  const load = loadavg()[0];
  const busy = busySeconds();
  const began = performance.now();
  const seal = [];
  const open = [];
  let sealed = null;
  for (let run = 0; run < RUNS; run += 1) {
    let start = performance.now();
    sealed = await sealStream(key, context, plain);
    seal.push(SIZE / 1e6 / ((performance.now() - start) / 1000));
    start = performance.now();
    const opened = await openStream(key, context, sealed, "model.pt");
    open.push(SIZE / 1e6 / ((performance.now() - start) / 1000));
    if (opened.size !== SIZE) throw new Error(`opened ${opened.size} bytes, sealed ${SIZE}`);
  }
  const wall = (performance.now() - began) / 1000;
  const result = {
    what: "one sealed stream in the dApp's code (Node WebCrypto), 1 MiB chunks, Blob in and out",
    size_mb: SIZE / 1e6,
    runs: RUNS,
    encrypt_mb_s: Math.round(median(seal)),
    encrypt_mb_s_range: spread(seal),
    decrypt_mb_s: Math.round(median(open)),
    decrypt_mb_s_range: spread(open),
    node: process.version,
    load_avg_1m_before: Math.round(load * 100) / 100,
    load_avg_1m_after: Math.round(loadavg()[0] * 100) / 100,
    busy_cores: Math.round(((busySeconds() - busy) / wall) * 100) / 100,
  };
  console.log(JSON.stringify(result, null, 2));
  const out = join(repo, "bench", "results", "dapp_sealing.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await server.close();
}
