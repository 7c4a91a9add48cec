// What a visitor downloads before the first page shows, from the build's manifest (dist/.vite/manifest.json):
// the entry chunk with everything it imports statically, plus the page's own lazy chunk and its static
// imports; JS and CSS, raw and gzipped (zlib's default level, as Vite reports sizes). Prints a table and
// writes bench/results/dapp_bundle.json at the repository root.
//
//   npm run build && npm run size            (exits 1 when the first page is over the budget)
// Options: --max-kb N (the budget for the first page, gzipped, in kB of 1,000 bytes; default 250),
// --out PATH (where the JSON goes).
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const frontend = resolve(here, "..");
const repo = resolve(frontend, "..");
const dist = join(frontend, "dist");

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const MAX_KB = Number(option("max-kb", "250"));
const OUT = resolve(option("out", join(repo, "bench", "results", "dapp_bundle.json")));
/** The page at `/` (the first one a visitor sees) and the other routed pages, by source module. */
const PAGES = {
  "/": "src/pages/HomePage.tsx",
  "/app/jobs": "src/pages/JobsPage.tsx",
  "/app/jobs/:id": "src/pages/JobPage.tsx",
  "/app/post": "src/pages/PostJobPage.tsx",
  "/app/providers": "src/pages/ProvidersPage.tsx",
  "/app/providers/:address": "src/pages/ProviderPage.tsx",
};

function readManifest() {
  const path = join(dist, ".vite", "manifest.json");
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new Error(`no build manifest at ${path}: run \`npm run build\` first`);
  }
}

const sizes = new Map();
function sizeOf(file) {
  let size = sizes.get(file);
  if (!size) {
    const bytes = readFileSync(join(dist, file));
    size = { file, raw: bytes.length, gzip: gzipSync(bytes).length };
    sizes.set(file, size);
  }
  return size;
}

/** The files `key` needs before it runs: its own chunk, its CSS, and the same for every static import. */
function closure(manifest, key, files = new Set()) {
  const chunk = manifest[key];
  if (!chunk) throw new Error(`${key} is not in the build manifest`);
  if (files.has(chunk.file)) return files;
  files.add(chunk.file);
  for (const css of chunk.css ?? []) files.add(css);
  for (const imported of chunk.imports ?? []) closure(manifest, imported, files);
  return files;
}

function total(files) {
  const list = [...files].map(sizeOf).sort((a, b) => b.gzip - a.gzip);
  const sum = (pick) => list.reduce((acc, item) => acc + pick(item), 0);
  return {
    raw_bytes: sum((item) => item.raw),
    gzip_bytes: sum((item) => item.gzip),
    js_gzip_bytes: sum((item) => (item.file.endsWith(".js") ? item.gzip : 0)),
    css_gzip_bytes: sum((item) => (item.file.endsWith(".css") ? item.gzip : 0)),
    files: list,
  };
}

const kb = (bytes) => Math.round(bytes / 10) / 100;

function main() {
  const manifest = readManifest();
  const entryKey = Object.keys(manifest).find((key) => manifest[key].isEntry);
  if (!entryKey) throw new Error("the build manifest names no entry chunk");
  const entryFiles = closure(manifest, entryKey);
  const entry = total(entryFiles);
  const pages = Object.fromEntries(
    // A page without a chunk of its own is bundled into the entry (counted there already).
    Object.entries(PAGES).map(([path, key]) => [path, total(manifest[key] ? closure(manifest, key, new Set(entryFiles)) : entryFiles)]),
  );
  const first = pages["/"];
  const allFiles = Object.values(manifest).flatMap((chunk) => [chunk.file, ...(chunk.css ?? [])]).filter((file) => /\.(js|css)$/.test(file));
  const everything = total(new Set(allFiles));
  const html = statSync(join(dist, "index.html")).size;

  console.log("first load (JS + CSS), gzipped:");
  for (const [path, figures] of Object.entries(pages)) {
    console.log(`  ${path.padEnd(26)} ${kb(figures.gzip_bytes).toFixed(2).padStart(8)} kB  (${kb(figures.raw_bytes).toFixed(2)} kB raw, ${figures.files.length} files)`);
  }
  console.log(`  entry alone                ${kb(entry.gzip_bytes).toFixed(2).padStart(8)} kB`);
  console.log(`  whole build                ${kb(everything.gzip_bytes).toFixed(2).padStart(8)} kB  (${everything.files.length} files)`);
  console.log(`first page's files:`);
  for (const item of first.files) console.log(`  ${item.file.padEnd(40)} ${kb(item.gzip).toFixed(2).padStart(8)} kB gz  ${kb(item.raw).toFixed(2).padStart(8)} kB raw`);

  const summary = (figures) => ({
    gzip_kb: kb(figures.gzip_bytes),
    raw_kb: kb(figures.raw_bytes),
    js_gzip_kb: kb(figures.js_gzip_bytes),
    css_gzip_kb: kb(figures.css_gzip_bytes),
    files: figures.files.map((item) => ({ file: item.file, gzip_kb: kb(item.gzip), raw_kb: kb(item.raw) })),
  });
  const report = {
    first_load_gzip_kb: kb(first.gzip_bytes),
    targets: { first_load_gzip_kb: MAX_KB },
    first_page: "/",
    index_html_bytes: html,
    entry: summary(entry),
    pages: Object.fromEntries(Object.entries(pages).map(([path, figures]) => [path, summary(figures)])),
    whole_build_gzip_kb: kb(everything.gzip_bytes),
    whole_build_raw_kb: kb(everything.raw_bytes),
    method: "Vite build manifest: entry chunk + static imports + the page's lazy chunk and its static imports; zlib gzip, default level; kB = 1,000 bytes",
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${OUT}`);
  if (report.first_load_gzip_kb > MAX_KB) {
    console.error(`the first page loads ${report.first_load_gzip_kb} kB gzipped, over the ${MAX_KB} kB budget`);
    process.exitCode = 1;
  }
}

main();
