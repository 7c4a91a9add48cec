import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { bodyHash, gatewayAuthority, requestTypedData, signedRequestHeaders } from "../src/lib/signing";
import reference from "./fixtures/python_reference.json";

const fixture = reference.signing;
const target = { bodyHash: fixture.bodyHash as `0x${string}`, gateway: fixture.gateway };

describe("the gateway's EIP-712 Request", () => {
  it("signs to exactly the signature gateway_protocol/signing.py computes", async () => {
    const account = privateKeyToAccount(fixture.privateKey as `0x${string}`);
    const typed = requestTypedData(fixture.chainId, fixture.method, fixture.path, fixture.expiry, fixture.nonce as `0x${string}`, target);
    expect(await account.signTypedData(typed)).toBe(fixture.signature);
  });

  it("hashes the body with SHA-256 and names the gateway as the browser's Host header, as Python does", async () => {
    const bytes = new TextEncoder().encode(fixture.body);
    expect(await bodyHash(bytes)).toBe(fixture.bodyHash);
    expect(await bodyHash(new Blob([bytes]))).toBe(fixture.bodyHash);
    expect(gatewayAuthority(fixture.gatewayUrl)).toBe(fixture.gateway);
    expect(gatewayAuthority("https://Gateway.Example.org:443/api")).toBe("gateway.example.org");
    expect(gatewayAuthority("http://[::1]:8000")).toBe("[::1]:8000");
  });

  it("upper-cases the method, drops the query string and lower-cases the gateway", () => {
    const typed = requestTypedData(31337, "post", "/bundles?x=1", 10, `0x${"22".repeat(32)}`, { ...target, gateway: "LOCALHOST:8000" });
    expect(typed.message.method).toBe("POST");
    expect(typed.message.path).toBe("/bundles");
    expect(typed.message.gateway).toBe("localhost:8000");
    expect(typed.message.bodyHash).toBe(fixture.bodyHash);
    expect(typed.domain).toEqual({ name: "crowdcompute-gateway", version: "2", chainId: 31337 });
  });

  it("builds the X-Crowd-* headers from the wallet's signature", async () => {
    const account = privateKeyToAccount(fixture.privateKey as `0x${string}`);
    const headers = await signedRequestHeaders((typed) => account.signTypedData(typed), account.address, fixture.chainId, "POST", "/bundles", target, {
      now: (fixture.expiry - 120) * 1000,
      nonce: fixture.nonce as `0x${string}`,
    });
    expect(headers).toEqual({
      "X-Crowd-Address": fixture.address,
      "X-Crowd-Expiry": String(fixture.expiry),
      "X-Crowd-Nonce": fixture.nonce,
      "X-Crowd-Body-Hash": fixture.bodyHash,
      "X-Crowd-Signature": fixture.signature,
    });
  });

  it("never asks for an expiry past the gateway's 300 s skew", async () => {
    let expiry = 0n;
    await signedRequestHeaders(
      async (typed) => {
        expiry = typed.message.expiry;
        return "0x";
      },
      fixture.address as `0x${string}`,
      1,
      "POST",
      "/bundles",
      target,
      { ttlSeconds: 3600, now: 1_000_000 },
    );
    expect(expiry).toBe(1000n + 300n);
  });
});
