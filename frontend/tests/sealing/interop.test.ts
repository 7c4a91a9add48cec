// The browser's sealing against Python's (jobs/sealing, vectors from tools/sealing_vectors.py): the same keys
// from the same signature, Python's streams and key seal open here, and sealing here gives Python's bytes.
import { bytesToHex, hexToBytes, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { DEV_PRIVATE_KEYS } from "../../src/lib/devAccounts";
import { openKey, sealKey } from "../../src/lib/sealing/keySeal";
import { deriveRequesterKeys, keyMessage } from "../../src/lib/sealing/requesterKeys";
import { openStream, sealStream } from "../../src/lib/sealing/stream";
import vectors from "../../src/lib/sealing/vectors.json";

const bytes = (hex: string) => new Uint8Array(hexToBytes(`0x${hex}` as Hex));
const hex = (data: Uint8Array) => bytesToHex(data).slice(2);
const blobBytes = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());
const { requester } = vectors;

describe("requester keys, as Python derives them", () => {
  it("signs the same message to the same signature with anvil's key #0", async () => {
    expect(keyMessage(requester.chain_id, requester.account.toLowerCase())).toBe(requester.message);
    const account = privateKeyToAccount(DEV_PRIVATE_KEYS[0] as Hex);
    expect(account.address).toBe(requester.account);
    expect(await account.signMessage({ message: requester.message })).toBe(`0x${requester.signature}`);
  });

  it("derives the same X25519 pair and content key from the signature", async () => {
    const keys = await deriveRequesterKeys(bytes(requester.signature), requester.chain_id, requester.account);
    expect(hex(keys.privateKey)).toBe(requester.x25519_private);
    expect(hex(keys.publicKey)).toBe(requester.x25519_public);
    expect(hex(await keys.contentKey(bytes(requester.key_salt)))).toBe(requester.content_key);
  });
});

describe("sealed streams, as Python seals them", () => {
  for (const vector of vectors.streams) {
    it(`opens "${vector.name}" and seals it to the same bytes`, async () => {
      const sealed = bytes(vector.sealed);
      const opened = await openStream(bytes(vector.key), vector.context, new Blob([sealed]), vector.name);
      expect(hex(await blobBytes(opened))).toBe(vector.plaintext);
      const again = await sealStream(bytes(vector.key), vector.context, new Blob([bytes(vector.plaintext)]), {
        chunkLog2: vector.chunk_log2,
        salt: sealed.subarray(10, 26),
      });
      expect(hex(await blobBytes(again))).toBe(vector.sealed);
    });
  }

  it("refuses Python's stream under another context, naming the file", async () => {
    const [vector] = vectors.streams;
    const moved = vector!.context.replace("chain=31337", "chain=1");
    await expect(openStream(bytes(vector!.key), moved, new Blob([bytes(vector!.sealed)]), "sealed.payload")).rejects.toThrow(
      /^sealed\.payload: does not open: wrong key, a ciphertext moved/,
    );
  });
});

describe("key seals, as Python seals them", () => {
  const seal = vectors.key_seal;
  const target = { chainId: seal.chain_id, jobId: seal.job_id, to: seal.recipient };

  it("opens Python's seal of the content key", async () => {
    const opened = await openKey(bytes(seal.recipient_private), bytes(seal.sealed), target);
    expect(hex(opened)).toBe(seal.payload);
  });

  it("seals what opens with the recipient's key, and only for its job and account", async () => {
    const sealed = await sealKey(bytes(seal.recipient_public), bytes(seal.payload), target);
    expect(sealed.length).toBe(32 + 32 + 16);
    expect(hex(await openKey(bytes(seal.recipient_private), sealed, target))).toBe(seal.payload);
    await expect(openKey(bytes(seal.recipient_private), sealed, { ...target, jobId: 8 })).rejects.toThrow(/sealed key: does not open/);
    await expect(openKey(bytes(seal.recipient_private), sealed, { ...target, to: requester.account })).rejects.toThrow(/sealed key: does not open/);
  });
});
