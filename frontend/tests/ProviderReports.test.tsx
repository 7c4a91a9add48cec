// @vitest-environment happy-dom
import { render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { REPORTED_BY_PROVIDER } from "../src/components/EnergyRecords";
import type { EnergyReportPublic, JobReportsPublic } from "../src/lib/api";
import { carbonText, energyText, methodText } from "../src/lib/energy";
import { JobEnergy, SkipReports } from "../src/pages/job/ProviderReports";
import { ProviderEnergy } from "../src/pages/ProviderPage";

const A = "0x" + "a1".repeat(20);
const B = "0x" + "b2".repeat(20);
const ENERGY: EnergyReportPublic = {
  job_id: 7,
  provider: A,
  kwh: 0.0125,
  gco2e: 2.5,
  method: "rapl+nvml",
  measured: true,
  grid_gco2e_per_kwh: 200,
  seconds: 61.5,
  reported_at: 1_900_000_000,
  reported_by: "provider",
};
const REPORTS: JobReportsPublic = {
  summary: "2 providers saw it and skipped it: 1 busy; 1 image not present",
  skips: [
    { provider: A, kind: "image not present", reason: "runtime image x:1 is not present locally", reported_at: 1_900_000_000 },
    { provider: B, kind: "busy", reason: "at capacity: 1 of 1 job slots busy", reported_at: 1_900_000_001 },
  ],
  energy: [],
};

const inRouter = (node: ReactNode) => render(<MemoryRouter>{node}</MemoryRouter>);

describe("what providers reported, on the job page", () => {
  it("says why providers skip an open job, each in its own words", () => {
    inRouter(<SkipReports job={{ state: "Open", reports: REPORTS }} />);
    expect(screen.getByText(REPORTS.summary as string)).toBeTruthy();
    expect(screen.getByText(/runtime image x:1 is not present locally/)).toBeTruthy();
    expect(screen.getByText(/at capacity: 1 of 1 job slots busy/)).toBeTruthy();
    expect(screen.getByText("As each provider reported it.")).toBeTruthy();
  });

  it("shows the job's energy and carbon with the method and the grid intensity, as the provider's claim", () => {
    inRouter(<JobEnergy job={{ reports: { ...REPORTS, energy: [ENERGY] } }} />);
    const row = screen.getByRole("row", { name: /12.5 Wh/ });
    expect(row.textContent).toContain("2.50 gCO₂e");
    expect(row.textContent).toContain("measured (RAPL + NVML)");
    expect(row.textContent).toContain("200 gCO₂e/kWh");
    expect(screen.getByText(REPORTED_BY_PROVIDER)).toBeTruthy();
  });
});

describe("the provider page's energy and carbon per job", () => {
  it("lists each job's record and the totals, no longer saying the index reports none", () => {
    const estimated = { ...ENERGY, job_id: 8, kwh: 2.5, gco2e: 1000, method: "estimate", measured: false };
    const totals = { kwh: 2.5125, gco2e: 1002.5, jobs: 2, measured_jobs: 1, reported_by: "provider" as const };
    inRouter(<ProviderEnergy provider={{ energy: [estimated, ENERGY], energy_totals: totals }} />);
    expect(screen.getByText(/2.51 kWh, 1.00 kgCO₂e over 2 jobs \(1 measured, 1 estimated\)/)).toBeTruthy();
    expect(screen.getByRole("link", { name: "#8" })).toBeTruthy();
    expect(screen.getByRole("row", { name: /#8/ }).textContent).toContain("estimated (CPU-time estimate)");
    expect(screen.queryByText(/does not report/)).toBeNull();
  });

  it("words figures in readable units", () => {
    expect([energyText(0.0125), energyText(3.4), energyText(0)]).toEqual(["12.5 Wh", "3.40 kWh", "0 kWh"]);
    expect([carbonText(850), carbonText(1250)]).toEqual(["850 gCO₂e", "1.25 kgCO₂e"]);
    expect(methodText({ method: "estimate+nvml", measured: false })).toBe("estimated (CPU-time estimate + NVML)");
  });
});
