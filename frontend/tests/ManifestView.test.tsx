// @vitest-environment happy-dom
import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ManifestView } from "../src/components/ManifestView";
import { checkManifest } from "../src/lib/manifest";
import { VALID } from "./fixtures/manifests";

function row(field: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`tr[data-field="${field}"]`);
  if (!element) throw new Error(`no row for ${field}`);
  return element;
}

describe("the manifest check display", () => {
  it("says a valid manifest is valid and lists its fields", () => {
    const check = checkManifest(VALID);
    render(<ManifestView manifest={check.manifest} problems={check.problems} source="browser" />);
    expect(screen.getByText("job.toml is valid")).toBeTruthy();
    expect(within(row("resources.cpus")).getByText("1")).toBeTruthy();
    expect(within(row("runtime.entrypoint")).getByText('["python", "train.py"]')).toBeTruthy();
  });

  it("shows each browser-found problem next to its field", () => {
    const check = checkManifest(VALID.replace("cpus = 1", "cpus = 0").replace("memory_mib = 512\n", ""));
    render(<ManifestView manifest={check.manifest} problems={check.problems} source="browser" />);
    expect(screen.getByText("2 problems in job.toml")).toBeTruthy();
    expect(row("resources.cpus").className).toBe("row-invalid");
    expect(within(row("resources.cpus")).getByText("must be > 0")).toBeTruthy();
    expect(within(row("resources.memory_mib")).getByText("(missing)")).toBeTruthy();
    expect(within(row("resources.memory_mib")).getByText("missing; required")).toBeTruthy();
    expect(row("name").className).toBe("");
  });

  it("shows the gateway's 422 problems the same way", () => {
    const check = checkManifest(VALID);
    const problems = [{ field: "resources.gpu_memory_mib", message: "must be 0 when resources.gpus is 0", value: "512" }];
    render(<ManifestView manifest={check.manifest} problems={problems} source="gateway" />);
    expect(screen.getByText("1 problem found by the gateway")).toBeTruthy();
    expect(within(row("resources.gpu_memory_mib")).getByText("must be 0 when resources.gpus is 0")).toBeTruthy();
  });

  it("shows a TOML syntax error above the table", () => {
    const check = checkManifest("name = ");
    render(<ManifestView manifest={check.manifest} problems={check.problems} source="browser" />);
    expect(screen.getByRole("alert").textContent).toMatch(/^not valid TOML/);
  });
});
