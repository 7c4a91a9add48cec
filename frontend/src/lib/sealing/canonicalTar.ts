// The canonical tar of jobs/bundle/tarformat.py, as Blobs: writing one from files (folders before their
// contents, each folder's entries sorted by name, zeroed times and owners, fixed modes, PAX only when ustar
// cannot hold a name) and reading one entry by entry without loading file data (each entry's data is a slice).
import { SealingError } from "./errors";
import { concatBytes, utf8 } from "./primitives";

const BLOCK = 512;
const NAME_FIELD = 100;
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

export interface TarFile {
  path: string;
  data: Blob;
  executable?: boolean;
}

function octal(value: number, width: number): Uint8Array<ArrayBuffer> {
  return utf8(`${value.toString(8).padStart(width - 1, "0")}\0`);
}

function field(bytes: Uint8Array, width: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(width);
  out.set(bytes.subarray(0, width));
  return out;
}

function ustar(name: Uint8Array, mode: number, size: number, typeflag: string): Uint8Array<ArrayBuffer> {
  const header = concatBytes(
    field(name, NAME_FIELD),
    octal(mode, 8),
    octal(0, 8),
    octal(0, 8),
    octal(size, 12),
    octal(0, 12),
    utf8("        "),
    utf8(typeflag),
    new Uint8Array(NAME_FIELD),
    utf8("ustar\u000000"),
    new Uint8Array(32 + 32),
    octal(0, 8),
    octal(0, 8),
    new Uint8Array(155),
  );
  const block = new Uint8Array(BLOCK);
  block.set(header);
  const checksum = block.reduce((sum, byte) => sum + byte, 0);
  block.set(utf8(`${checksum.toString(8).padStart(6, "0")}\0 `), 148);
  return block;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array<ArrayBuffer> {
  const body = concatBytes(utf8(` ${key}=`), value, utf8("\n"));
  let digits = 1;
  while (String(body.length + digits).length !== digits) digits += 1;
  return concatBytes(utf8(String(body.length + digits)), body);
}

const isAscii = (bytes: Uint8Array) => bytes.every((byte) => byte < 0x80);
const padding = (size: number) => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);

function entryHeader(path: string, typeflag: "0" | "5", mode: number, size: number): Uint8Array<ArrayBuffer> {
  const name = utf8(typeflag === "5" ? `${path}/` : path);
  let records: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  if (name.length > NAME_FIELD || !isAscii(name)) records = concatBytes(records, paxRecord("path", name));
  if (size > MAX_OCTAL_SIZE) records = concatBytes(records, paxRecord("size", utf8(String(size))));
  const header = ustar(name, mode, size > MAX_OCTAL_SIZE ? 0 : size, typeflag);
  if (!records.length) return header;
  return concatBytes(ustar(utf8("././@PaxHeader"), 0o644, records.length, "x"), records, padding(records.length), header);
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The canonical tar of `files` (paths relative, '/'-separated), its folders implied by the paths. */
export function canonicalTar(files: TarFile[]): Blob {
  const byPath = new Map(files.map((file) => [file.path, file]));
  // The folder tree: each folder's child names, walked depth first with sorted names as the Python walk does.
  const children = new Map<string, Set<string>>([["", new Set()]]);
  for (const path of byPath.keys()) {
    const parts = path.split("/");
    for (let depth = 0; depth < parts.length; depth += 1) {
      const parent = parts.slice(0, depth).join("/");
      if (!children.has(parent)) children.set(parent, new Set());
      (children.get(parent) as Set<string>).add(parts[depth] as string);
    }
  }
  const parts: BlobPart[] = [];
  const walk = (folder: string) => {
    for (const name of [...(children.get(folder) ?? [])].sort(byCodePoint)) {
      const path = folder ? `${folder}/${name}` : name;
      const file = byPath.get(path);
      if (file) {
        parts.push(entryHeader(path, "0", file.executable ? 0o755 : 0o644, file.data.size), file.data, padding(file.data.size));
      } else {
        parts.push(entryHeader(path, "5", 0o755, 0));
        walk(path);
      }
    }
  };
  walk("");
  parts.push(new Uint8Array(2 * BLOCK));
  return new Blob(parts as BlobPart[]);
}

export interface TarBlobEntry {
  path: string;
  type: "file" | "directory" | "other";
  executable: boolean;
  data: Blob;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? bytes.subarray(0, end) : bytes);
}

/** The entries of an uncompressed tar held in a Blob (ustar with PAX and GNU long names); data stays a slice. */
export async function tarBlobEntries(tar: Blob, name = "archive"): Promise<TarBlobEntry[]> {
  const entries: TarBlobEntry[] = [];
  let offset = 0;
  let longName: string | null = null;
  let paxSize: number | null = null;
  while (offset + BLOCK <= tar.size) {
    const header = new Uint8Array(await tar.slice(offset, offset + BLOCK).arrayBuffer());
    if (header.every((byte) => byte === 0)) return entries;
    const sizeText = cString(header.subarray(124, 136)).trim();
    const size = paxSize ?? (sizeText ? parseInt(sizeText, 8) : 0);
    if (!Number.isFinite(size) || offset + BLOCK + size > tar.size) throw new SealingError(name, "truncated", "the tar is cut short");
    const typeflag = String.fromCharCode(header[156] || 48);
    const data = tar.slice(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === "x" || typeflag === "L") {
      const text = new TextDecoder().decode(await data.arrayBuffer());
      if (typeflag === "L") longName = cString(utf8(text));
      else {
        longName = /\d+ path=([^\n]*)\n/.exec(text)?.[1] ?? longName;
        const paxSizeText = /\d+ size=(\d+)\n/.exec(text)?.[1];
        paxSize = paxSizeText ? Number(paxSizeText) : null;
      }
      continue;
    }
    if (typeflag === "g") continue;
    const prefix = cString(header.subarray(345, 500));
    const base = cString(header.subarray(0, 100));
    const path = (longName ?? (prefix ? `${prefix}/${base}` : base)).replace(/^\.\//, "").replace(/\/$/, "");
    longName = null;
    paxSize = null;
    const mode = parseInt(cString(header.subarray(100, 108)).trim() || "0", 8);
    const type = typeflag === "0" || typeflag === "\0" ? "file" : typeflag === "5" ? "directory" : "other";
    entries.push({ path, type, executable: (mode & 0o111) !== 0, data });
  }
  throw new SealingError(name, "truncated", "the tar ends without its end-of-archive blocks");
}
