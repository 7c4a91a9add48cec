// How amounts, addresses and times read on screen (token wording as chain/revert_messages.py has it).
import { formatUnits, parseUnits } from "viem";

export const TOKEN_DECIMALS = 18;
export const TOKEN_SYMBOL = "CROWD";
export const UINT96_MAX = 2n ** 96n - 1n;

/** 18-decimal units as whole tokens: `50 CROWD`, `0.25 CROWD`. */
export function tokenAmount(units: bigint | string | number, symbol: string = TOKEN_SYMBOL): string {
  const text = formatUnits(BigInt(units), TOKEN_DECIMALS);
  return symbol ? `${groupThousands(text)} ${symbol}` : groupThousands(text);
}

/** As `tokenAmount`, without thousands separators: the wording of chain/revert_messages.py. */
export function tokenAmountPlain(units: bigint | string | number, symbol: string = TOKEN_SYMBOL): string {
  return `${formatUnits(BigInt(units), TOKEN_DECIMALS)} ${symbol}`;
}

/** Whole tokens with at most `digits` decimals, for compact tables and axes. */
export function tokenAmountShort(units: bigint | string | number, digits = 2): string {
  const value = Number(formatUnits(BigInt(units), TOKEN_DECIMALS));
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

function groupThousands(text: string): string {
  const [whole = "0", fraction] = text.split(".");
  const negative = whole.startsWith("-");
  const digits = negative ? whole.slice(1) : whole;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}${fraction ? `.${fraction}` : ""}`;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A token amount typed by a person (`12.5`) in base units; never negative, at most uint96. */
export function parseTokenAmount(text: string): Parsed<bigint> {
  const trimmed = text.trim().replace(/_/g, "");
  if (!trimmed) return { ok: false, error: "required" };
  if (!/^\d+(\.\d*)?$|^\.\d+$/.test(trimmed)) return { ok: false, error: "must be a number of tokens, e.g. 100 or 12.5" };
  const fraction = trimmed.split(".")[1] ?? "";
  if (fraction.length > TOKEN_DECIMALS) return { ok: false, error: `at most ${TOKEN_DECIMALS} decimal places` };
  const value = parseUnits(trimmed, TOKEN_DECIMALS);
  if (value > UINT96_MAX) return { ok: false, error: "too large (uint96 on chain)" };
  return { ok: true, value };
}

/** A whole number typed by a person, within [min, max]. */
export function parseInteger(text: string, min: number, max: number): Parsed<number> {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return { ok: false, error: "must be a whole number" };
  const value = Number(trimmed);
  if (value < min) return { ok: false, error: `must be >= ${min}` };
  if (value > max) return { ok: false, error: `must be <= ${max}` };
  return { ok: true, value };
}

/** `0xf39F…2266`, as the Python clients shorten addresses. */
export function shortAddress(address: string | null | undefined): string {
  if (!address) return "—";
  return address.length === 42 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

export function shortHash(hash: string | null | undefined, keep = 10): string {
  if (!hash) return "—";
  return hash.length > keep * 2 + 1 ? `${hash.slice(0, keep)}…${hash.slice(-6)}` : hash;
}

/** `1 h 30 min`, `45 s`, `2 d 3 h`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return s % 60 ? `${minutes} min ${s % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** A unix time as local date and time, or a dash. */
export function dateTime(unixSeconds: number | null | undefined): string {
  if (unixSeconds === null || unixSeconds === undefined) return "—";
  return new Date(unixSeconds * 1000).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** `3 min ago`, `in 2 h`, relative to `now` (unix seconds). */
export function relativeTime(unixSeconds: number | null | undefined, now: number = Date.now() / 1000): string {
  if (unixSeconds === null || unixSeconds === undefined) return "—";
  const delta = unixSeconds - now;
  if (Math.abs(delta) < 5) return "just now";
  return delta < 0 ? `${duration(-delta)} ago` : `in ${duration(delta)}`;
}

export function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function mib(value: number): string {
  return value >= 1024 && value % 1024 === 0 ? `${value / 1024} GiB` : `${value} MiB`;
}

/** 1,500 · 0.5 · 0.125: three significant digits at most, no trailing zeros (chart ticks, latest metrics). */
export function plainNumber(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  return String(Number(value.toPrecision(3)));
}
