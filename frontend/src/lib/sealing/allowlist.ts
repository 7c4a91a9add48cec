// The post form's allowlist of providers to pre-seal the content key to (kept light: the form checks it as you type).
import type { Address } from "viem";

/** Check that an allowlist is addresses, before anything is signed. */
export function parseAllowlist(text: string): { addresses: Address[]; error: string | null } {
  const words = text.split(/[\s,]+/).filter(Boolean);
  const bad = words.find((word) => !/^0x[0-9a-fA-F]{40}$/.test(word));
  if (bad) return { addresses: [], error: `"${bad}" is not an address (0x and 40 hex digits)` };
  return { addresses: [...new Set(words.map((word) => word.toLowerCase() as Address))], error: null };
}
