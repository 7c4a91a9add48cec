// Hash routes (`#/jobs/12`), so no dApp path ever collides with the gateway's API paths.
import { useSyncExternalStore } from "react";

export type Route =
  | { page: "home" }
  | { page: "post" }
  | { page: "jobs"; query: URLSearchParams }
  | { page: "job"; id: number }
  | { page: "providers" }
  | { page: "provider"; address: string }
  | { page: "notFound"; path: string };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "") || "/";
  const [path = "/", search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean);
  const [first, second] = parts;
  if (parts.length === 0) return { page: "home" };
  if (first === "post" && parts.length === 1) return { page: "post" };
  if (first === "jobs" && parts.length === 1) return { page: "jobs", query: new URLSearchParams(search) };
  if (first === "jobs" && parts.length === 2 && /^\d+$/.test(second ?? "")) return { page: "job", id: Number(second) };
  if (first === "providers" && parts.length === 1) return { page: "providers" };
  if (first === "providers" && parts.length === 2 && /^0x[0-9a-fA-F]{40}$/.test(second ?? "")) {
    return { page: "provider", address: (second as string).toLowerCase() };
  }
  return { page: "notFound", path };
}

function subscribe(callback: () => void): () => void {
  window.addEventListener("hashchange", callback);
  return () => window.removeEventListener("hashchange", callback);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash, () => "");
  return parseRoute(hash);
}

/** `#/jobs/12` for `/jobs/12`. */
export function href(path: string): string {
  return `#${path}`;
}

export function navigate(path: string): void {
  window.location.hash = path;
}
