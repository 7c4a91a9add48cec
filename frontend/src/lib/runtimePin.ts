// Example jobs pin the runtime image id of runtime/image.lock, which the reproducible builder gives on
// any machine with the locked inputs. A network whose nodes built another id (other inputs) advertises
// it (GET /config `runtime_images`): the dApp then pins a picked manifest that names the lock's id to
// the advertised one, as `crowdcompute job submit` does. Jobs written before the lock name a placeholder
// id that runs nowhere; it is pinned the same way, or refused.

export const PLACEHOLDER_DIGEST = `sha256:${"0".repeat(64)}`;

export type RuntimePin =
  /** The placeholder (or another replaceable id, `replaced`) became the id the gateway advertises. */
  | { kind: "pinned"; image: string; digest: string; text: string; replaced: string }
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

/** Pin `text`'s runtime digest, when it is the placeholder or one of `replaceable` (the lock's id), to
 * the id `images` has for its image, when there is one and it differs. */
export function pinRuntime(text: string, images: Record<string, string>, replaceable: string[] = []): RuntimePin {
  const lines = text.split("\n");
  const table = runtimeTable(lines);
  if (!table) return { kind: "none" };
  let image: string | null = null;
  let digestLine = -1;
  let named = "";
  for (let index = table[0]; index < table[1]; index += 1) {
    const line = lines[index] ?? "";
    const imageMatch = STRING_KEY("image").exec(line);
    if (imageMatch) image = imageMatch[2] ?? null;
    const digestMatch = STRING_KEY("digest").exec(line);
    if (digestMatch && (digestMatch[2] === PLACEHOLDER_DIGEST || replaceable.includes(digestMatch[2] ?? ""))) {
      digestLine = index;
      named = digestMatch[2] ?? "";
    }
  }
  if (digestLine < 0) return { kind: "none" };
  const digest = image ? images[image] : undefined;
  if (named !== PLACEHOLDER_DIGEST && (!digest || digest === named)) return { kind: "none" };
  if (!image || !digest) return { kind: "placeholder", image };
  lines[digestLine] = (lines[digestLine] ?? "").replace(STRING_KEY("digest"), `$1"${digest}"`);
  return { kind: "pinned", image, digest, text: lines.join("\n"), replaced: named };
}
