import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { crowdMarketAbi } from "../src/lib/contracts";
import { decodeRevertData, describeError, explainError } from "../src/lib/revert";
import reference from "./fixtures/python_reference.json";

describe("decoding reverts", () => {
  it.each(reference.reverts)("words $name exactly as chain/reverts.py does", (fixture) => {
    const decoded = decodeRevertData(fixture.data as Hex);
    expect(decoded?.name).toBe(fixture.name);
    expect(decoded?.message).toBe(fixture.message);
  });

  it("names an error without a template by its fields", () => {
    expect(describeError("SomethingNew", { jobId: 3n, who: "0xabc" })).toBe("SomethingNew(jobId=3, who=0xabc)");
  });

  it("returns null for data that is no known error", () => {
    expect(decodeRevertData("0xdeadbeef")).toBeNull();
    expect(decodeRevertData("0x")).toBeNull();
  });
});

describe("explainError", () => {
  const insufficient = reference.reverts.find((r) => r.name === "InsufficientFreeStake")!;

  it("finds revert data inside viem's error chain", () => {
    const reverted = new ContractFunctionRevertedError({ abi: crowdMarketAbi, data: insufficient.data as Hex, functionName: "claimJob" });
    const outer = new BaseError("call failed", { cause: reverted });
    expect(explainError(outer)).toBe(insufficient.message);
  });

  it("finds revert data in a wallet's JSON-RPC error", () => {
    const walletError = { code: -32603, message: "execution reverted", data: { code: 3, data: insufficient.data } };
    expect(explainError(walletError)).toBe(insufficient.message);
  });

  it("says plainly when the user rejected the request", () => {
    expect(explainError(new UserRejectedRequestError(new Error("denied")))).toBe("You rejected the request in your wallet.");
    expect(explainError({ code: 4001, message: "User denied" })).toBe("You rejected the request in your wallet.");
  });

  it("falls back to the message", () => {
    expect(explainError(new Error("boom"))).toBe("boom");
  });
});
