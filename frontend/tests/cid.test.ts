import { describe, expect, it } from "vitest";
import { cidFromChain, InvalidCidError, parseCid } from "../src/lib/cid";
import reference from "./fixtures/python_reference.json";

describe("CIDs as the chain stores them", () => {
  it.each(reference.cids)("parses $text as jobs/cid.py does", (fixture) => {
    const cid = parseCid(fixture.text);
    expect(cid.digest).toBe(fixture.digest);
    expect(cid.codec).toBe(fixture.codec);
    expect(cidFromChain(cid.digest, cid.codec)).toBe(fixture.v1);
  });

  it.each(["", "xyz", "bafkrei!", "Qm123", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei5"])("refuses %j", (text) => {
    expect(() => parseCid(text)).toThrow(InvalidCidError);
  });
});
