// Opening a confidential job's result in the browser (docs/confidential.md, "Results"): with a clear `SEALED`
// marker, every other file of the result tar is a sealed stream under the result key, bound to its path.
import { canonicalTar, tarBlobEntries, type TarFile } from "./canonicalTar";
import { SealingError } from "./errors";
import { openStream } from "./stream";
import { SEALED_SCHEME } from "./bundle";

export const SEALED_MARKER = "SEALED";

export interface ResultPlace {
  chainId: number | bigint;
  jobId: number | bigint;
  /** The job's `attempts` when the result was submitted. */
  attempt: number;
}

export function resultContext(place: ResultPlace, path: string): string {
  return `result|chain=${place.chainId}|job=${place.jobId}|attempt=${place.attempt}|path=${path}`;
}

export interface OpenedResult {
  /** The canonical tar of the plaintext files (the marker left out). */
  tar: Blob;
  files: TarFile[];
}

/** Open every file of the result tar `result`; throws `SealingError` naming the first file that does not open. */
export async function openResult(result: Blob, resultKey: Uint8Array, place: ResultPlace, onFile?: (path: string) => void): Promise<OpenedResult> {
  const entries = await tarBlobEntries(result, "result");
  const marker = entries.find((entry) => entry.path === SEALED_MARKER && entry.type === "file");
  if (!marker || (await marker.data.text()).trim() !== SEALED_SCHEME) {
    throw new SealingError("result", "not sealed", `no ${SEALED_MARKER} marker reading ${SEALED_SCHEME}: this result is not sealed`);
  }
  const files: TarFile[] = [];
  for (const entry of entries) {
    if (entry.type !== "file" || entry.path === SEALED_MARKER) continue;
    onFile?.(entry.path);
    const data = await openStream(resultKey, resultContext(place, entry.path), entry.data, entry.path);
    files.push({ path: entry.path, data, executable: entry.executable });
  }
  return { tar: canonicalTar(files), files };
}
