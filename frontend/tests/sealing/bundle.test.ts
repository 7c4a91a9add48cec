// Sealed bundles and results: the canonical tar is Python's byte for byte, a bundle opens to its folder with
// the full job.toml while its public manifest keeps only what providers must match, and results open per file.
import { bytesToHex, sha256 } from "viem";
import { describe, expect, it } from "vitest";
import { parse } from "smol-toml";
import { openBundle, sealBundle, sealedTable } from "../../src/lib/sealing/bundle";
import { canonicalTar, tarBlobEntries } from "../../src/lib/sealing/canonicalTar";
import { deriveRequesterKeys } from "../../src/lib/sealing/requesterKeys";
import { openResult, resultContext, SEALED_MARKER } from "../../src/lib/sealing/result";
import { sealStream } from "../../src/lib/sealing/stream";
import vectors from "../../src/lib/sealing/vectors.json";

const text = (value: string) => new Blob([value]);
const blobBytes = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());
const keysOf = () => deriveRequesterKeys(`0x${vectors.requester.signature}`, vectors.requester.chain_id, vectors.requester.account);

describe("canonicalTar", () => {
  it("writes the bytes jobs/bundle's packer writes for the same folder", async () => {
    // The folder below, packed by jobs.bundle.output.pack_output: 12800 bytes with this SHA-256.
    const files = [
      { path: "job.toml", data: text('name = "x"\n') },
      { path: "src/a.py", data: text("print(1)\n") },
      { path: "src/b/c.txt", data: text("hello") },
      { path: "data.bin", data: text("q".repeat(1500)) },
      { path: `zz/${"n".repeat(120)}.txt`, data: text("long") },
      { path: "zz/é.txt", data: text("é") },
      { path: "A.txt", data: text("x") },
    ];
    const tar = await blobBytes(canonicalTar(files));
    expect(tar.length).toBe(12800);
    expect(sha256(tar)).toBe("0xabbb7506a8e4cc74f496fcc0bfa7199869df8eb5d3e191ad6fe40c4b28d06cb0");
    const entries = await tarBlobEntries(new Blob([tar]));
    expect(entries.filter((e) => e.type === "file").map((e) => e.path)).toEqual(
      ["A.txt", "data.bin", "job.toml", "src/a.py", "src/b/c.txt", `zz/${"n".repeat(120)}.txt`, "zz/é.txt"],
    );
    expect(await entries.find((e) => e.path === "zz/é.txt")!.data.text()).toBe("é");
  });
});

const MANIFEST = `name = "digits"
description = "secret plans"

[runtime]
image = "crowdcompute/runtime-cpu:torch2.13"
digest = "sha256:${"5".repeat(64)}"
entrypoint = ["python3", "train.py"]
env = { DATA_URL = "secret" }

[resources]
cpus = 1
memory_mib = 1024
disk_mib = 256
timeout_s = 900
`;

describe("sealBundle", () => {
  it("uploads only the public manifest and ciphertext, and opens to the folder with the full job.toml", async () => {
    const keys = await keysOf();
    const files = [
      { path: "job.toml", data: text("old") },
      { path: "train.py", data: text("print('train')\n") },
      { path: "data/x.csv", data: text("1,2\n".repeat(700)) },
    ];
    const sealed = await sealBundle({ files, manifestText: MANIFEST, keys, chunkLog2: 10 });
    const members = await tarBlobEntries(sealed.body);
    expect(members.map((m) => m.path)).toEqual(["job.toml", "sealed.payload"]);
    const body = new TextDecoder().decode(await blobBytes(sealed.body));
    for (const secret of ["secret plans", "DATA_URL", "print('train')", "1,2"]) expect(body).not.toContain(secret);

    const manifest = parse(await members[0]!.data.text()) as Record<string, Record<string, unknown>>;
    expect(manifest.description).toBeUndefined();
    expect(manifest.runtime!.env).toBeUndefined();
    expect(manifest.runtime!.entrypoint).toEqual(["python3", "train.py"]);
    expect(manifest.resources!.memory_mib).toBe(1024);
    expect(manifest.sealed).toEqual({
      scheme: "crowdcompute-sealed-v1",
      payload: "sealed.payload",
      key_salt: bytesToHex(sealed.keySalt).slice(2),
      requester: vectors.requester.account,
    });

    const opened = await openBundle(sealed.body, keys);
    expect(opened.map((e) => e.path)).toEqual(["data", "data/x.csv", "job.toml", "train.py"]);
    expect(await opened.find((e) => e.path === "job.toml")!.data.text()).toBe(MANIFEST);
    expect(await blobBytes(canonicalTar(files.map((f) => (f.path === "job.toml" ? { ...f, data: text(MANIFEST) } : f))))).toEqual(
      await blobBytes(canonicalTar(opened.filter((e) => e.type === "file"))),
    );
  });

  it("opens with keys derived again from the same signature (nothing to back up), not another account's", async () => {
    const sealed = await sealBundle({ files: [{ path: "a.py", data: text("a") }], manifestText: MANIFEST, keys: await keysOf() });
    expect(sealedTable(sealed.publicManifest)?.keySalt).toEqual(sealed.keySalt);
    expect((await openBundle(sealed.body, await keysOf())).map((e) => e.path)).toContain("a.py");
    const stranger = await deriveRequesterKeys(`0x${"11".repeat(65)}`, 31337, vectors.requester.account);
    await expect(openBundle(sealed.body, stranger)).rejects.toThrow(/^sealed\.payload: does not open/);
  });
});

describe("openResult", () => {
  const place = { chainId: 31337, jobId: 7, attempt: 1 };
  const key = new Uint8Array(32).fill(9);

  async function sealedResult(files: Record<string, string>, marker = "crowdcompute-sealed-v1\n") {
    const sealed = [];
    for (const [path, body] of Object.entries(files)) {
      sealed.push({ path, data: await sealStream(key, resultContext(place, path), text(body), { chunkLog2: 10 }) });
    }
    return canonicalTar([...sealed, { path: SEALED_MARKER, data: text(marker) }]);
  }

  it("opens every file under the result key, bound to its path, and packs the plaintext", async () => {
    const result = await sealedResult({ "model.pt": "weights", "checkpoints/step-1.pt": "ckpt".repeat(400) });
    const opened = await openResult(result, key, place);
    expect(opened.files.map((f) => f.path)).toEqual(["checkpoints/step-1.pt", "model.pt"]);
    const entries = await tarBlobEntries(opened.tar);
    expect(await entries.find((e) => e.path === "model.pt")!.data.text()).toBe("weights");
    expect(entries.some((e) => e.path === SEALED_MARKER)).toBe(false);
  });

  it("refuses the wrong key or attempt, naming the file", async () => {
    const result = await sealedResult({ "model.pt": "weights" });
    await expect(openResult(result, new Uint8Array(32), place)).rejects.toThrow(/^model\.pt: does not open: wrong key/);
    await expect(openResult(result, key, { ...place, attempt: 0 })).rejects.toThrow(/^model\.pt: does not open/);
  });

  it("refuses a truncated result file and a result without the marker", async () => {
    const whole = await blobBytes(await sealStream(key, resultContext(place, "model.pt"), text("w".repeat(2048)), { chunkLog2: 10 }));
    const cut = canonicalTar([
      { path: "model.pt", data: new Blob([whole.subarray(0, 26 + 2 * 1040)]) },
      { path: SEALED_MARKER, data: text("crowdcompute-sealed-v1\n") },
    ]);
    await expect(openResult(cut, key, place)).rejects.toThrow("model.pt: truncated: the stream ends without its final chunk");
    const clear = canonicalTar([{ path: "model.pt", data: text("weights") }]);
    await expect(openResult(clear, key, place)).rejects.toThrow(/^result: no SEALED marker/);
  });
});
