import { afterEach } from "vitest";

// Component tests (happy-dom) unmount what they rendered and leave the hash route clean.
afterEach(async () => {
  if (typeof window === "undefined") return;
  const { cleanup } = await import("@testing-library/react");
  cleanup();
  window.location.hash = "";
});
