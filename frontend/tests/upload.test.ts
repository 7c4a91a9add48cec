import { describe, expect, it } from "vitest";
import { uploadFailure } from "../src/lib/upload";

describe("upload failures", () => {
  it("keeps the gateway's 422 field problems", () => {
    const failure = uploadFailure(422, {
      code: "manifest_invalid",
      detail: "invalid manifest: resources.cpus: 0 is not allowed; must be > 0",
      problems: [{ field: "resources.cpus", message: "must be > 0", value: "0" }],
    });
    expect(failure.problems).toEqual([{ field: "resources.cpus", message: "must be > 0", value: "0" }]);
    expect(failure.message).toMatch(/^the manifest has problems: invalid manifest/);
  });

  it("explains a refused signature and a body that is not JSON", () => {
    expect(uploadFailure(401, { code: "unauthenticated", detail: "signature expired" }).message).toBe(
      "the gateway did not accept the signature: signature expired",
    );
    expect(uploadFailure(502, null)).toEqual({ ok: false, status: 502, message: "the gateway answered 502", problems: [] });
  });
});
