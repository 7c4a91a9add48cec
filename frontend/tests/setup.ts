import { afterEach } from "vitest";

// Component tests (happy-dom) unmount what they rendered and leave the page at `/` again.
afterEach(async () => {
  if (typeof window === "undefined") return;
  const { cleanup } = await import("@testing-library/react");
  cleanup();
  window.history.replaceState(null, "", "/");
});
