import { describe, expect, it } from "vitest";
import { checkManifest, fieldPath, manifestRows } from "../src/lib/manifest";
import { VALID } from "./fixtures/manifests";

const problemsOf = (text: string) => checkManifest(text).problems;
const edit = (from: string, to: string) => VALID.replace(from, to);

describe("checking job.toml against the gateway's schema", () => {
  it("accepts a valid manifest", () => {
    const check = checkManifest(VALID);
    expect(check.problems).toEqual([]);
    expect(check.manifest?.name).toBe("minimal-job");
  });

  it("reports TOML syntax errors with their line", () => {
    const [problem] = problemsOf('name = "x\n');
    expect(problem?.field).toBe("job.toml");
    expect(problem?.message).toMatch(/^not valid TOML \(line 1/);
  });

  it("names missing sections and fields", () => {
    expect(problemsOf(VALID.replace(/\[outputs\][\s\S]*/, ""))).toEqual([{ field: "outputs", message: "missing; required" }]);
    expect(problemsOf(edit("memory_mib = 512\n", ""))).toEqual([{ field: "resources.memory_mib", message: "missing; required" }]);
  });

  it("words bounds, types and choices as the gateway does", () => {
    expect(problemsOf(edit("cpus = 1", "cpus = 0"))).toEqual([{ field: "resources.cpus", message: "must be > 0", value: "0" }]);
    expect(problemsOf(edit("timeout_s = 600", 'timeout_s = "600"'))).toEqual([
      { field: "resources.timeout_s", message: "must be an integer (without quotes)", value: "'600'" },
    ]);
    expect(problemsOf(edit('mode = "segments"', 'mode = "fast"'))).toEqual([
      { field: "verification.mode", message: "must be one of 'none', 'segments', 'shards' or 'replicate'", value: "'fast'" },
    ]);
    expect(problemsOf(edit('name = "minimal-job"', 'name = "Minimal Job"'))[0]?.message).toMatch(/^must be a slug/);
    expect(problemsOf(edit('image = "python:3.11-slim"', 'image = "python"'))[0]).toMatchObject({ field: "runtime.image" });
  });

  it("names unknown fields and lists the allowed ones", () => {
    const [problem] = problemsOf(edit("cpus = 1", "cpus = 1\ngpu = 1"));
    expect(problem?.field).toBe("resources.gpu");
    expect(problem?.message).toMatch(/^unknown field; allowed: gpus, gpu_memory_mib/);
  });

  it("checks token amounts in [payment]", () => {
    expect(problemsOf(`${VALID}\n[payment]\nbudget = "12.5"\nvalidator_fee = 1\n`)).toEqual([]);
    expect(problemsOf(`${VALID}\n[payment]\nbudget = "lots"\n`)).toEqual([
      { field: "payment.budget", message: 'must be a token amount, e.g. 100 or "12.5"', value: "'lots'" },
    ]);
  });

  it("turns JSON pointers into the gateway's dotted field paths", () => {
    expect(fieldPath("/runtime/entrypoint/0")).toBe("runtime.entrypoint[0]");
    expect(fieldPath("/resources", "cpus")).toBe("resources.cpus");
    expect(fieldPath("")).toBe("job.toml");
  });
});

describe("placing problems next to their fields", () => {
  it("puts each problem on the row of its field, or the row that holds it", () => {
    const { manifest } = checkManifest(VALID);
    const { rows, general } = manifestRows(manifest, [
      { field: "resources.cpus", message: "must be > 0" },
      { field: "runtime.entrypoint[0]", message: "must be a non-empty string" },
      { field: "outputs.path", message: "must be relative" },
      { field: "job.toml", message: "missing; no file" },
    ]);
    const row = (field: string) => rows.find((r) => r.field === field);
    expect(row("resources.cpus")?.problems.map((p) => p.message)).toEqual(["must be > 0"]);
    expect(row("runtime.entrypoint")?.problems.map((p) => p.field)).toEqual(["runtime.entrypoint[0]"]);
    expect(row("outputs.path")).toMatchObject({ value: undefined, problems: [{ message: "must be relative" }] });
    expect(row("name")?.problems).toEqual([]);
    expect(general).toEqual([{ field: "job.toml", message: "missing; no file" }]);
  });
});
