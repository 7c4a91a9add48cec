// The requester keys this tab has derived, as a small store the frame can watch without loading the sealing code.
import type { RequesterKeys } from "./requesterKeys";

const resolved = new Map<string, RequesterKeys>();
const listeners = new Set<() => void>();
let version = 0;

const slotOf = (chainId: number, account: string) => `${chainId}:${account.toLowerCase()}`;

function changed(): void {
  version += 1;
  for (const listener of listeners) listener();
}

export function rememberKeys(keys: RequesterKeys): void {
  resolved.set(slotOf(keys.chainId, keys.account), keys);
  changed();
}

export function forgetKeys(): void {
  resolved.clear();
  changed();
}

/** The keys already derived in this tab (no wallet prompt), or null. */
export function knownRequesterKeys(account: string, chainId: number): RequesterKeys | null {
  return resolved.get(slotOf(chainId, account)) ?? null;
}

/** Call `listener` whenever keys are derived or forgotten (for `useSyncExternalStore`). */
export function subscribeRequesterKeys(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Changes whenever the keys in memory change. */
export function requesterKeysVersion(): number {
  return version;
}
