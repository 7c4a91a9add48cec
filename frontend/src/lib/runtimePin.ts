// Example jobs pin a placeholder runtime image id (ids of images built offline differ per machine), and a
// job pinned to it can run nowhere: every provider would skip it and the escrow would sit until cancelled.
// The gateway advertises the ids its network's nodes run (GET /config `runtime_images`); the dApp pins a
// picked manifest to that id, as examples/pin_runtime.py does on the command line.

export const PLACEHOLDER_DIGEST = `sha256:${"0".repeat(64)}`;

export type RuntimePin =
  /** The placeholder was replaced by the id the gateway advertises for the manifest's image. */
  | { kind: "pinned"; image: string; digest: string; text: string }
  /** The placeholder stays: the gateway advertises no id for this image. */
  | { kind: "placeholder"; image: string | null }
  /** A real id (or no [runtime] digest at all): nothing to do. */
  | { kind: "none" };

const TABLE_HEADER = /^\s*\[([^\]]+)\]\s*(#.*)?$/;
const STRING_KEY = (key: string) => new RegExp(`^(\\s*${key}\\s*=\\s*)"([^"]*)"`);

/** The line range [start, end) of the `[runtime]` table's body, or null. */
function runtimeTable(lines: string[]): [number, number] | null {
  const start = lines.findIndex((line) => TABLE_HEADER.exec(line)?.[1]?.trim() === "runtime");
  if (start < 0) return null;
  let end = start + 1;
  while (end < lines.length && !TABLE_HEADER.test(lines[end] ?? "")) end += 1;
  return [start + 1, end];
}

/** Pin `text`'s placeholder runtime digest to the id `images` has for its image, when there is one. */
export function pinRuntime(text: string, images: Record<string, string>): RuntimePin {
  const lines = text.split("\n");
  const table = runtimeTable(lines);
  if (!table) return { kind: "none" };
  let image: string | null = null;
  let digestLine = -1;
  for (let index = table[0]; index < table[1]; index += 1) {
    const line = lines[index] ?? "";
    const imageMatch = STRING_KEY("image").exec(line);
    if (imageMatch) image = imageMatch[2] ?? null;
    const digestMatch = STRING_KEY("digest").exec(line);
    if (digestMatch && digestMatch[2] === PLACEHOLDER_DIGEST) digestLine = index;
  }
  if (digestLine < 0) return { kind: "none" };
  const digest = image ? images[image] : undefined;
  if (!image || !digest) return { kind: "placeholder", image };
  lines[digestLine] = (lines[digestLine] ?? "").replace(STRING_KEY("digest"), `$1"${digest}"`);
  return { kind: "pinned", image, digest, text: lines.join("\n") };
}
