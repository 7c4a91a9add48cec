import { describe, expect, it } from "vitest";
import { PLACEHOLDER_DIGEST, pinRuntime } from "../src/lib/runtimePin";

const IMAGE = "crowdcompute/runtime-cpu:torch2.13";
const ID = `sha256:${"ab".repeat(32)}`;
const manifest = (digest: string) =>
  [
    'name = "digits-mlp"',
    'digest = "not-the-runtime-one"',
    "",
    "[runtime]",
    `image = "${IMAGE}"`,
    "# a comment that names digest = \"x\"",
    `digest = "${digest}"  # the placeholder`,
    'entrypoint = ["python3", "train.py"]',
    "",
    "[resources]",
    'digest = "not-this-either"',
  ].join("\n");

describe("pinning the examples' placeholder runtime id", () => {
  it("replaces only [runtime] digest with the id the gateway advertises for the image", () => {
    const pin = pinRuntime(manifest(PLACEHOLDER_DIGEST), { [IMAGE]: ID });
    expect(pin.kind).toBe("pinned");
    if (pin.kind !== "pinned") return;
    expect(pin).toMatchObject({ image: IMAGE, digest: ID, replaced: PLACEHOLDER_DIGEST });
    expect(pin.text).toBe(manifest(ID));
    expect(pin.text.split("\n").filter((line) => line.includes(ID))).toEqual([`digest = "${ID}"  # the placeholder`]);
  });

  it("reports the placeholder when the gateway knows no id for that image", () => {
    expect(pinRuntime(manifest(PLACEHOLDER_DIGEST), {})).toEqual({ kind: "placeholder", image: IMAGE });
    expect(pinRuntime(manifest(PLACEHOLDER_DIGEST), { "other:1": ID })).toEqual({ kind: "placeholder", image: IMAGE });
  });

  it("leaves a real id, or a manifest without [runtime], alone", () => {
    expect(pinRuntime(manifest(ID), { [IMAGE]: `sha256:${"cd".repeat(32)}` })).toEqual({ kind: "none" });
    expect(pinRuntime('name = "x"\n', { [IMAGE]: ID })).toEqual({ kind: "none" });
  });

  it("pins the lock's id to the advertised one only where the network built another", () => {
    const LOCKED = `sha256:${"1a".repeat(32)}`;
    const pin = pinRuntime(manifest(LOCKED), { [IMAGE]: ID }, [LOCKED]);
    expect(pin).toMatchObject({ kind: "pinned", image: IMAGE, digest: ID, replaced: LOCKED });
    expect(pinRuntime(manifest(LOCKED), { [IMAGE]: LOCKED }, [LOCKED])).toEqual({ kind: "none" });
    expect(pinRuntime(manifest(LOCKED), {}, [LOCKED])).toEqual({ kind: "none" });
    expect(pinRuntime(manifest(LOCKED), { [IMAGE]: ID })).toEqual({ kind: "none" });
  });
});
