// Confidential jobs: once the requester's keys are unlocked in this tab, run the key agent (loaded only then),
// which releases content keys to the claimants of the requester's confidential jobs while the tab stays open.
import { lazy, Suspense, useSyncExternalStore } from "react";
import { requesterKeysVersion, subscribeRequesterKeys } from "../lib/sealing/keySession";

const KeyAgentRunner = lazy(() => import("../lib/sealing/keyAgent"));

export function KeyAgent() {
  const unlocked = useSyncExternalStore(subscribeRequesterKeys, requesterKeysVersion) > 0;
  if (!unlocked) return null;
  return (
    <Suspense fallback={null}>
      <KeyAgentRunner />
    </Suspense>
  );
}
