// Sealed streams round trip at every length around a chunk boundary, and every failure is refused with a
// message that names the file and the reason.
import { describe, expect, it } from "vitest";
import { SealingError } from "../../src/lib/sealing/errors";
import { HEADER_SIZE, openStream, sealStream } from "../../src/lib/sealing/stream";

const KEY = new Uint8Array(32).fill(1);
const OTHER = new Uint8Array(32).fill(2);
const CONTEXT = "result|chain=31337|job=3|attempt=0|path=model.pt";
const LOG2 = 10;
const CHUNK = 2 ** LOG2;

function data(size: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + 3) % 251);
}

const blobBytes = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());

async function refusal(promise: Promise<unknown>): Promise<SealingError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SealingError);
  return error as SealingError;
}

describe("sealStream / openStream", () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 500]) {
    it(`round-trips ${size} bytes, with an always shorter final chunk`, async () => {
      const sealed = await sealStream(KEY, CONTEXT, new Blob([data(size)]), { chunkLog2: LOG2 });
      const chunks = Math.floor(size / CHUNK) + 1;
      expect(sealed.size).toBe(HEADER_SIZE + size + 16 * chunks);
      expect(await blobBytes(await openStream(KEY, CONTEXT, sealed, "model.pt"))).toEqual(data(size));
    });
  }

  it("uses a fresh salt each time, so the same file seals differently", async () => {
    const one = await blobBytes(await sealStream(KEY, CONTEXT, new Blob([data(10)]), { chunkLog2: LOG2 }));
    const two = await blobBytes(await sealStream(KEY, CONTEXT, new Blob([data(10)]), { chunkLog2: LOG2 }));
    expect(one.subarray(10, 26)).not.toEqual(two.subarray(10, 26));
  });

  it("reports progress as it seals, a few chunks at a time", async () => {
    const seen: number[] = [];
    const sealed = await sealStream(KEY, CONTEXT, new Blob([data(9 * CHUNK)]), { chunkLog2: LOG2, onProgress: (done) => seen.push(done) });
    expect(seen).toEqual([4 * CHUNK, 8 * CHUNK, 9 * CHUNK]);
    expect(await blobBytes(await openStream(KEY, CONTEXT, sealed, "model.pt"))).toEqual(data(9 * CHUNK));
  });
});

describe("openStream refuses", () => {
  const sealed = () => sealStream(KEY, CONTEXT, new Blob([data(2 * CHUNK + 100)]), { chunkLog2: LOG2 });

  it("the wrong key, naming the file", async () => {
    const error = await refusal(openStream(OTHER, CONTEXT, await sealed(), "checkpoints/step-1.pt"));
    expect(error.reason).toBe("wrong key or tampered");
    expect(error.message).toMatch(/^checkpoints\/step-1\.pt: does not open: wrong key/);
  });

  it("a file moved to another path (the context binds it)", async () => {
    const error = await refusal(openStream(KEY, CONTEXT.replace("model.pt", "other.pt"), await sealed(), "other.pt"));
    expect(error.message).toMatch(/^other\.pt: does not open/);
  });

  it("a changed byte in a middle chunk", async () => {
    const bytes = await blobBytes(await sealed());
    bytes[HEADER_SIZE + CHUNK + 16 + 5]! ^= 1;
    const error = await refusal(openStream(KEY, CONTEXT, new Blob([bytes]), "model.pt"));
    expect(error.reason).toBe("wrong key or tampered");
    expect(error.message).toBe("model.pt: chunk 1 does not open: the data was changed");
  });

  it("a changed byte in a later batch of chunks, naming that chunk", async () => {
    const bytes = await blobBytes(await sealStream(KEY, CONTEXT, new Blob([data(9 * CHUNK)]), { chunkLog2: LOG2 }));
    bytes[HEADER_SIZE + 6 * (CHUNK + 16) + 1]! ^= 1;
    const error = await refusal(openStream(KEY, CONTEXT, new Blob([bytes]), "model.pt"));
    expect(error.message).toBe("model.pt: chunk 6 does not open: the data was changed");
  });

  it("a changed header", async () => {
    const bytes = await blobBytes(await sealed());
    bytes[12]! ^= 1;
    const error = await refusal(openStream(KEY, CONTEXT, new Blob([bytes]), "model.pt"));
    expect(error.reason).toBe("wrong key or tampered");
  });

  it("a stream cut after a whole chunk (the final chunk missing)", async () => {
    const bytes = await blobBytes(await sealed());
    const error = await refusal(openStream(KEY, CONTEXT, new Blob([bytes.subarray(0, HEADER_SIZE + 2 * (CHUNK + 16))]), "model.pt"));
    expect(error.reason).toBe("truncated");
    expect(error.message).toBe("model.pt: truncated: the stream ends without its final chunk");
  });

  it("a stream cut inside its final chunk", async () => {
    const bytes = await blobBytes(await sealed());
    const error = await refusal(openStream(KEY, CONTEXT, new Blob([bytes.subarray(0, bytes.length - 10)]), "model.pt"));
    expect(error.message).toBe("model.pt: the final chunk does not open: the stream was cut mid-chunk or changed");
  });

  it("a stream with a chunk appended", async () => {
    const bytes = await blobBytes(await sealed());
    const extended = new Blob([bytes, bytes.subarray(HEADER_SIZE, HEADER_SIZE + CHUNK + 16)]);
    const error = await refusal(openStream(KEY, CONTEXT, extended, "model.pt"));
    expect(error.reason).toBe("wrong key or tampered");
    expect(error.subject).toBe("model.pt");
  });

  it("a header cut short, and a file that is not sealed at all", async () => {
    expect((await refusal(openStream(KEY, CONTEXT, new Blob([new Uint8Array(10)]), "a.bin"))).reason).toBe("truncated");
    const clear = await refusal(openStream(KEY, CONTEXT, new Blob([data(100)]), "a.bin"));
    expect(clear.message).toBe("a.bin: not a sealed stream (no CCSEAL1 header)");
  });
});
