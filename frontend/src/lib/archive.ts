// Job folders in the browser: files from a folder pick or an example, packed into a zip for upload, and
// `job.toml` read out of a zip, tar or tar.gz the user chose (the gateway repacks every upload canonically).
import { gunzipSync, unzipSync, zipSync, type Zippable } from "fflate";
import { MANIFEST_FILENAME } from "./manifest";

export interface JobFile {
  path: string;
  data: Blob;
}

/** Folders a browser folder pick should not send (the CLI never sees these either once ignored). */
const SKIPPED = new Set([".git", "__pycache__", ".DS_Store", ".ipynb_checkpoints", ".pytest_cache", "node_modules"]);

export interface FolderPick {
  folder: string;
  files: JobFile[];
  skipped: number;
}

/** A `webkitdirectory` pick: paths relative to the chosen folder, with junk folders left out. */
export function filesFromFolderPick(list: ArrayLike<File>): FolderPick {
  const files: JobFile[] = [];
  let folder = "";
  let skipped = 0;
  for (const file of Array.from(list)) {
    const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
    const parts = relative.split("/").filter(Boolean);
    if (parts.length > 1) {
      folder = parts[0] as string;
      parts.shift();
    }
    if (parts.some((part) => SKIPPED.has(part))) {
      skipped += 1;
      continue;
    }
    files.push({ path: parts.join("/"), data: file });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { folder, files, skipped };
}

export function totalSize(files: JobFile[]): number {
  return files.reduce((sum, file) => sum + file.data.size, 0);
}

async function blobBytes(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

/** A zip of `files` with `job.toml` replaced by `manifestText` (when given); fixed times, light compression. */
export async function zipJobFiles(files: JobFile[], manifestText?: string): Promise<Uint8Array> {
  const entries: Zippable = {};
  const mtime = new Date(2000, 0, 1);
  for (const file of files) {
    if (file.path === MANIFEST_FILENAME && manifestText !== undefined) continue;
    entries[file.path] = [await blobBytes(file.data), { mtime }];
  }
  if (manifestText !== undefined) entries[MANIFEST_FILENAME] = [new TextEncoder().encode(manifestText), { mtime }];
  return zipSync(entries, { level: 1 });
}

/** The files of a zip (an example job), as `JobFile`s, sorted by path. */
export function filesFromZip(bytes: Uint8Array): JobFile[] {
  const unzipped = unzipSync(bytes);
  return Object.entries(unzipped)
    .filter(([name]) => !name.endsWith("/"))
    .map(([path, data]) => ({ path, data: new Blob([data as Uint8Array<ArrayBuffer>]) }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Where `job.toml` sits among `names`: at the root, or inside the single folder that wraps everything. */
export function manifestLocation(names: string[]): string | null {
  const clean = names.map((n) => n.replace(/^\.\//, "")).filter((n) => n && !n.startsWith("__MACOSX/"));
  if (clean.includes(MANIFEST_FILENAME)) return MANIFEST_FILENAME;
  const tops = new Set(clean.map((n) => n.split("/")[0]));
  if (tops.size !== 1) return null;
  const candidate = `${[...tops][0]}/${MANIFEST_FILENAME}`;
  return clean.includes(candidate) ? candidate : null;
}

interface TarEntry {
  name: string;
  type: string;
  data: Uint8Array;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? bytes.subarray(0, end) : bytes);
}

function octal(bytes: Uint8Array): number {
  const text = cString(bytes).trim();
  return text ? parseInt(text, 8) : 0;
}

/** The entries of an uncompressed tar (ustar, GNU long names and PAX paths). */
export function tarEntries(tar: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | null = null;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header.subarray(124, 136));
    if (!Number.isFinite(size)) throw new Error("not a tar archive (bad size field)");
    const type = String.fromCharCode(header[156] ?? 48) || "0";
    const prefix = cString(header.subarray(345, 500));
    const base = cString(header.subarray(0, 100));
    const data = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = cString(data);
      continue;
    }
    if (type === "x") {
      const match = /\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data));
      longName = match ? (match[1] as string) : longName;
      continue;
    }
    if (type === "g") continue;
    const name = longName ?? (prefix ? `${prefix}/${base}` : base);
    longName = null;
    entries.push({ name, type: type === "\0" ? "0" : type, data });
  }
  return entries;
}

export type ArchiveKind = "zip" | "tar" | "tar.gz";

export function archiveKind(bytes: Uint8Array): ArchiveKind | null {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return "zip";
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return "tar.gz";
  if (bytes.length >= 262 && cString(bytes.subarray(257, 262)) === "ustar") return "tar";
  return null;
}

/** `job.toml` of an archive the user chose, or the reason it cannot be read. */
export async function manifestFromArchive(file: Blob): Promise<{ text: string } | { error: string }> {
  const bytes = await blobBytes(file);
  const kind = archiveKind(bytes);
  try {
    if (kind === "zip") {
      const names: string[] = [];
      const found = unzipSync(bytes, {
        filter: (info) => {
          names.push(info.name);
          return info.name.endsWith(MANIFEST_FILENAME) && info.originalSize <= 1024 * 1024;
        },
      });
      const where = manifestLocation(names);
      const data = where ? found[where] : undefined;
      return data ? { text: new TextDecoder().decode(data) } : { error: "the zip has no job.toml at its root" };
    }
    if (kind === "tar" || kind === "tar.gz") {
      const tar = kind === "tar.gz" ? gunzipSync(bytes) : bytes;
      const entries = tarEntries(tar).filter((e) => e.type === "0" || e.type === "5");
      const where = manifestLocation(entries.map((e) => e.name.replace(/\/$/, "")));
      const entry = where ? entries.find((e) => e.name.replace(/^\.\//, "") === where) : undefined;
      return entry ? { text: new TextDecoder().decode(entry.data) } : { error: `the ${kind} has no job.toml at its root` };
    }
  } catch (error) {
    return { error: `the archive cannot be read: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { error: "not a .zip, .tar or .tar.gz archive" };
}
