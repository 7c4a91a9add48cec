// Energy and carbon as providers report them (api/models/reports.py): the figures, how they were obtained
// and the grid intensity applied. Always the provider's own claim; the market does not verify them.
import type { EnergyReportPublic } from "./api";

const METHOD_PARTS: Record<string, string> = {
  rapl: "RAPL",
  nvml: "NVML",
  estimate: "CPU-time estimate",
  none: "no CPU figure",
  unsupported: "no GPU counter",
};

/** `measured (RAPL + NVML)`, `estimated (CPU-time estimate)`. */
export function methodText(record: Pick<EnergyReportPublic, "method" | "measured">): string {
  const parts = record.method.split("+").map((part) => METHOD_PARTS[part] ?? part);
  return `${record.measured ? "measured" : "estimated"} (${parts.join(" + ")})`;
}

/** Three significant digits, in the unit that keeps the number readable: `12.5 Wh`, `3.40 kWh`. */
export function energyText(kwh: number): string {
  if (!Number.isFinite(kwh)) return "—";
  if (kwh === 0) return "0 kWh";
  return kwh < 1 ? `${(kwh * 1000).toPrecision(3)} Wh` : `${kwh.toPrecision(3)} kWh`;
}

/** `850 gCO₂e`, `1.25 kgCO₂e`. */
export function carbonText(gco2e: number): string {
  if (!Number.isFinite(gco2e)) return "—";
  if (gco2e === 0) return "0 gCO₂e";
  return gco2e < 1000 ? `${gco2e.toPrecision(3)} gCO₂e` : `${(gco2e / 1000).toPrecision(3)} kgCO₂e`;
}

export function gridText(gco2ePerKwh: number): string {
  return `${gco2ePerKwh.toLocaleString("en-US")} gCO₂e/kWh`;
}
