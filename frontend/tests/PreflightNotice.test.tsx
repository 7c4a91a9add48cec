// @vitest-environment happy-dom
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { PreflightNotice, preflightBlocker } from "../src/pages/post/PreflightNotice";
import type { Preflight } from "../src/pages/post/usePreflight";

const TERABYTE = "no registered provider offers 1,048,576 MiB of memory; the largest offers 24,105";

describe("the post page's check before any escrow moves", () => {
  it("lists why no provider would run the job and holds the post until the requester confirms", () => {
    const preflight: Preflight = { state: "checked", reasons: [TERABYTE, "it pays 0.5 CROWD per hour"] };
    const onConfirm = vi.fn();
    render(<PreflightNotice preflight={preflight} confirmed={false} onConfirm={onConfirm} />);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("No registered provider would run this job as it stands");
    expect(screen.getByText(TERABYTE)).toBeTruthy();
    expect(screen.getByText("it pays 0.5 CROWD per hour")).toBeTruthy();
    expect(preflightBlocker(preflight, false)).toMatch(/tick “Post it anyway”/);

    fireEvent.click(screen.getByRole("checkbox", { name: /Post it anyway/ }));
    expect(onConfirm).toHaveBeenCalledWith(true);
    expect(preflightBlocker(preflight, true)).toBeNull();
  });

  it("says so when a provider would run it, and never blocks for that or a check it could not make", () => {
    const fine: Preflight = { state: "checked", reasons: [] };
    render(<PreflightNotice preflight={fine} confirmed={false} onConfirm={() => undefined} />);
    expect(screen.getByRole("status").textContent).toContain("A registered provider would run this job");
    expect(screen.queryByRole("checkbox")).toBeNull();
    expect(preflightBlocker(fine, false)).toBeNull();

    const unknown: Preflight = { state: "unknown", error: "the gateway answered 503" };
    expect(preflightBlocker(unknown, false)).toBeNull();
    expect(preflightBlocker({ state: "waiting" }, false)).toBeNull();
  });
});
