// @vitest-environment happy-dom
// A confidential job's panel lists its key events in words: the release to the claimant, the requester's
// pre-seals and the provider's seals (the result key to the requester, the keys to committee seats).
import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import type { Address, Hex } from "viem";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { JobDetailPublic } from "../../src/lib/api";
import type { Job } from "../../src/lib/contracts";
import type { KeyEvent } from "../../src/lib/sealing/keyRelease";
import { AppProviders } from "../../src/lib/wallet";
import ConfidentialPanel from "../../src/pages/job/ConfidentialPanel";

const REQUESTER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266" as Address;
const PROVIDER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" as Address;
const SEAT = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc" as Address;
const ALLOWED = "0x90f79bf6eb2c4f870365e785982e1f101e93b906" as Address;
const SEAL = "0x01" as Hex;

const job = { spec: { requester: REQUESTER, runTimeout: 400 }, state: { provider: PROVIDER, deadline: 10_400n, attempts: 0 } } as unknown as Job;
const events: KeyEvent[] = [
  { kind: "sealed", sender: REQUESTER, recipient: ALLOWED, sealedKey: SEAL, blockNumber: 5n },
  { kind: "released", provider: PROVIDER, deadline: 10_400n, recorded: true, sealedKey: SEAL, blockNumber: 12n },
  { kind: "sealed", sender: PROVIDER, recipient: SEAT, sealedKey: SEAL, blockNumber: 20n },
  { kind: "sealed", sender: PROVIDER, recipient: REQUESTER, sealedKey: SEAL, blockNumber: 21n },
];
const detail = { id: 4, state: "Submitted", result_cid: "bafkreiresult", requester: REQUESTER } as unknown as JobDetailPublic;

function gateway(): Promise<Response> {
  return Promise.resolve(new Response(JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: -32601, message: "no node" } }), { headers: { "content-type": "application/json" } }));
}

describe("ConfidentialPanel", () => {
  beforeEach(() => vi.stubGlobal("fetch", vi.fn(gateway)));
  afterEach(() => vi.unstubAllGlobals());

  it("lists the key events in words, and offers no download to an account that is not the requester", async () => {
    render(
      <AppProviders>
        <MemoryRouter>
          <ConfidentialPanel job={detail} confidential={{ job, events }} />
        </MemoryRouter>
      </AppProviders>,
    );
    const items = (await screen.findAllByRole("listitem", {}, { timeout: 5_000 })).map((item) => item.textContent);
    expect(items[0]).toMatch(/^requester pre-sealed the content key to 0x90f7.*at block 5$/);
    expect(items[1]).toMatch(/^content key released to 0x7099.*at block 12$/);
    expect(items[2]).toMatch(/^sealed by 0x7099.* to 0x3c44.* at block 20$/);
    expect(items[3]).toMatch(/^sealed by 0x7099.* to the requester \(result key\) at block 21$/);
    expect(screen.queryByRole("button", { name: /Open and download/ })).toBeNull();
  });
});
