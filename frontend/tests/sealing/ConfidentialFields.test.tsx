// @vitest-environment happy-dom
// The post form's Confidential switch says what stays readable and that the tab must stay open, and shows the
// allowlist's problem.
import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { parseAllowlist } from "../../src/lib/sealing/allowlist";
import { CLEAR_FORM, ConfidentialFields, type ConfidentialForm } from "../../src/pages/post/ConfidentialFields";

function Harness() {
  const [form, setForm] = useState<ConfidentialForm>(CLEAR_FORM);
  const { error } = parseAllowlist(form.allowlist);
  return <ConfidentialFields form={form} error={form.enabled ? error : null} onChange={setForm} disabled={false} />;
}

describe("ConfidentialFields", () => {
  it("is off by default and explains the trade-offs once switched on", () => {
    render(<Harness />);
    expect(screen.queryByRole("note")).toBeNull();
    fireEvent.click(screen.getByRole("checkbox", { name: /Confidential/ }));
    const note = screen.getByRole("note");
    expect(note.textContent).toContain("[resources], [verification] and [outputs] tables");
    expect(note.textContent).toContain("Keep this tab open until a provider claims the job");
    expect(note.textContent).toContain("crowdcompute job keys serve");
  });

  it("names a bad allowlist entry", () => {
    render(<Harness />);
    fireEvent.click(screen.getByRole("checkbox", { name: /Confidential/ }));
    fireEvent.change(screen.getByPlaceholderText("0x…"), { target: { value: "0xnot-an-address" } });
    expect(screen.getByText(/"0xnot-an-address" is not an address/)).toBeTruthy();
  });
});
