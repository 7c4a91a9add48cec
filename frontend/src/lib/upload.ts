// POST /bundles with upload progress (fetch cannot report it; XMLHttpRequest can), signed per request.
import type { BundlePublic, ErrorPublic } from "./api";
import { apiBase, apiUrl } from "./api";
import type { FieldProblem } from "./manifest";
import { bodyHash, gatewayAuthority, type RequestTarget } from "./signing";

export type UploadResult =
  | { ok: true; bundle: BundlePublic }
  | { ok: false; status: number; message: string; problems: FieldProblem[] };

export interface UploadOptions {
  body: Blob;
  filename: string;
  headers: Record<string, string>;
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

const STATUS_HINTS: Record<number, string> = {
  400: "the archive was refused",
  401: "the gateway did not accept the signature",
  403: "the gateway refused this account (uploads need tokens at stake)",
  413: "the bundle is larger than the gateway accepts",
  422: "the manifest has problems",
  429: "too many uploads; wait a moment",
  503: "the gateway's content store is unavailable",
};

/** The gateway's error body (`{code, detail, problems?}`, or FastAPI's `{detail: [...]}`) as one result. */
export function uploadFailure(status: number, body: unknown): Extract<UploadResult, { ok: false }> {
  const hint = STATUS_HINTS[status] ?? `the gateway answered ${status}`;
  if (body && typeof body === "object") {
    const error = body as Partial<ErrorPublic> & { detail?: unknown };
    const problems = (error.problems ?? []).map((p) => ({ field: p.field, message: p.message, value: p.value ?? null }));
    const detail = typeof error.detail === "string" ? error.detail : null;
    return { ok: false, status, message: detail ? `${hint}: ${detail}` : hint, problems };
  }
  return { ok: false, status, message: hint, problems: [] };
}

/** What a signed upload of `body` names: its SHA-256 (the bytes of the form's `file` part) and the gateway
 * this dApp talks to (the Host the browser sends with the upload). */
export async function uploadTarget(body: Blob): Promise<RequestTarget> {
  return { bodyHash: await bodyHash(body), gateway: gatewayAuthority(apiBase()) };
}

export function uploadBundle(options: UploadOptions): Promise<UploadResult> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", apiUrl("/bundles"));
    for (const [name, value] of Object.entries(options.headers)) xhr.setRequestHeader(name, value);
    xhr.responseType = "text";
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) options.onProgress?.(event.loaded, event.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status === 201 || xhr.status === 200) resolve({ ok: true, bundle: body as BundlePublic });
      else resolve(uploadFailure(xhr.status, body));
    };
    xhr.onerror = () => resolve({ ok: false, status: 0, message: "the gateway could not be reached", problems: [] });
    xhr.onabort = () => resolve({ ok: false, status: 0, message: "upload cancelled", problems: [] });
    options.signal?.addEventListener("abort", () => xhr.abort());
    const form = new FormData();
    form.append("file", options.body, options.filename);
    xhr.send(form);
  });
}
