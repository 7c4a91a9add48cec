// A job's `job.toml`, checked in the browser against the schema the gateway validates uploads with
// (generated from GET /schema/manifest), with messages worded as jobs/manifest/loading.py words them.
// The gateway stays the authority: its 422 problems are shown the same way (`FieldProblem`).
import type { ErrorObject } from "ajv";
import { parse, TomlError } from "smol-toml";
// The schema compiled to code by scripts/generate.mjs: nothing is compiled in the browser (no eval, so the
// gateway's Content-Security-Policy needs no 'unsafe-eval').
import validator from "../generated/manifestValidator.js";

export const MANIFEST_FILENAME = "job.toml";

export interface FieldProblem {
  field: string;
  message: string;
  value?: string | null;
}

export type ManifestData = Record<string, unknown>;

export interface ManifestCheck {
  manifest: ManifestData | null;
  problems: FieldProblem[];
}

const PATTERN_MESSAGES: Record<string, string> = {
  name: "must be a slug: lowercase letters and digits, words joined by single hyphens",
  "runtime.image": "must be an image name with a tag, e.g. 'python:3.11-slim' or 'ghcr.io/org/trainer:1.2'",
  "runtime.digest": "must be 'sha256:' followed by 64 lowercase hex digits",
};

const TYPE_MESSAGES: Record<string, string> = {
  integer: "must be an integer",
  number: "must be a number",
  string: "must be a string",
  array: "must be a list",
  object: "must be a table",
  boolean: "must be true or false",
};

const BOUNDS: Record<string, string> = {
  minimum: ">=",
  maximum: "<=",
  exclusiveMinimum: ">",
  exclusiveMaximum: "<",
};

function validate(data: unknown): ErrorObject[] {
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** `/runtime/entrypoint/0` -> `runtime.entrypoint[0]`, the gateway's field paths. */
export function fieldPath(pointer: string, extra = ""): string {
  const parts = pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra) parts.push(extra);
  let path = "";
  for (const part of parts) {
    if (/^\d+$/.test(part) && path) path += `[${part}]`;
    else path += path ? `.${part}` : part;
  }
  return path || MANIFEST_FILENAME;
}

function shown(value: unknown): string | null {
  if (value === undefined) return null;
  const text = typeof value === "string" ? `'${value}'` : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function quoted(values: unknown[]): string {
  const items = values.map((v) => (typeof v === "string" ? `'${v}'` : String(v)));
  return items.length > 1 ? `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}` : (items[0] ?? "");
}

function problemFor(error: ErrorObject): FieldProblem | null {
  const field = fieldPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const value = shown(error.data);
  switch (error.keyword) {
    case "required":
      return { field: fieldPath(error.instancePath, String(params.missingProperty)), message: "missing; required" };
    case "additionalProperties": {
      const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
      const allowed = Object.keys(properties ?? {}).join(", ") || "none";
      return {
        field: fieldPath(error.instancePath, String(params.additionalProperty)),
        message: `unknown field; allowed: ${allowed}`,
      };
    }
    case "type": {
      const expected = String(params.type);
      let message = TYPE_MESSAGES[expected] ?? `must be ${expected}`;
      if ((expected === "integer" || expected === "number") && typeof error.data === "string") message += " (without quotes)";
      return { field, message, value };
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return { field, message: `must be ${BOUNDS[error.keyword]} ${String(params.limit)}`, value };
    case "const":
      return { field, message: `must be ${quoted([params.allowedValue])}`, value };
    case "enum": {
      const allowed = (params.allowedValues as unknown[]) ?? [];
      return { field, message: allowed.length > 1 ? `must be one of ${quoted(allowed)}` : `must be ${quoted(allowed)}`, value };
    }
    case "pattern":
      return { field, message: PATTERN_MESSAGES[field] ?? `must match ${String(params.pattern)}`, value };
    case "minLength":
      return { field, message: params.limit === 1 ? "must not be empty" : `must be at least ${String(params.limit)} characters`, value };
    case "maxLength":
      return { field, message: `must be at most ${String(params.limit)} characters`, value };
    case "minItems":
      return { field, message: params.limit === 1 ? "must not be empty" : `must have at least ${String(params.limit)} items`, value };
    case "maxItems":
    case "maxProperties":
      return { field, message: `must have at most ${String(params.limit)} items`, value };
    case "anyOf":
      return { field, message: field.startsWith("payment.") ? 'must be a token amount, e.g. 100 or "12.5"' : "has the wrong type", value };
    default:
      return { field, message: error.message ?? "is not allowed", value };
  }
}

/** Schema errors as field problems, one per field and message, anyOf branches folded into their parent. */
export function problemsFromSchemaErrors(errors: ErrorObject[]): FieldProblem[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath));
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const error of errors) {
    if (error.schemaPath.includes("/anyOf/") && anyOfPaths.has(error.instancePath)) continue;
    const problem = problemFor(error);
    if (!problem) continue;
    const key = `${problem.field}\u0000${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

/** Rules the schema cannot say: token amounts written as strings must be decimal numbers. */
function extraProblems(data: ManifestData): FieldProblem[] {
  const payment = data.payment;
  if (!payment || typeof payment !== "object") return [];
  const problems: FieldProblem[] = [];
  for (const [key, amount] of Object.entries(payment as Record<string, unknown>)) {
    if (typeof amount === "string" && !/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(amount)) {
      problems.push({ field: `payment.${key}`, message: 'must be a token amount, e.g. 100 or "12.5"', value: shown(amount) });
    }
    if (typeof amount === "number" && (!Number.isFinite(amount) || amount < 0)) {
      problems.push({ field: `payment.${key}`, message: "must be a finite token amount >= 0", value: shown(amount) });
    }
  }
  return problems;
}

/** Parse and check `job.toml` text: the parsed manifest (when it is TOML at all) and every problem found. */
export function checkManifest(text: string): ManifestCheck {
  let data: ManifestData;
  try {
    data = parse(text) as ManifestData;
  } catch (error) {
    const where = error instanceof TomlError ? ` (line ${error.line}, column ${error.column})` : "";
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { manifest: null, problems: [{ field: MANIFEST_FILENAME, message: `not valid TOML${where}: ${reason}` }] };
  }
  return { manifest: data, problems: [...problemsFromSchemaErrors(validate(data)), ...extraProblems(data)] };
}

/** The value at a dotted path (`resources.cpus`) of a parsed manifest. */
export function valueAt(data: ManifestData | null, path: string): unknown {
  let current: unknown = data;
  for (const part of path.split(".")) {
    if (!current || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export interface ManifestRow {
  field: string;
  value: unknown;
  problems: FieldProblem[];
}

/**
 * The manifest as rows of `field = value`, each with the problems that name it (a problem under a list
 * item or a map key lands on the row that holds it); problems for fields the file lacks become rows too.
 * Problems that name no field (`job.toml`) are returned apart.
 */
export function manifestRows(data: ManifestData | null, problems: FieldProblem[]): { rows: ManifestRow[]; general: FieldProblem[] } {
  const rows: ManifestRow[] = [];
  const walk = (value: unknown, path: string) => {
    if (value && typeof value === "object" && !Array.isArray(value) && path.split(".").length < 2) {
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) walk(inner, path ? `${path}.${key}` : key);
      return;
    }
    rows.push({ field: path, value, problems: [] });
  };
  if (data) walk(data, "");
  const general: FieldProblem[] = [];
  for (const problem of problems) {
    if (problem.field === MANIFEST_FILENAME) {
      general.push(problem);
      continue;
    }
    const holder = rows
      .filter((row) => problem.field === row.field || problem.field.startsWith(`${row.field}.`) || problem.field.startsWith(`${row.field}[`))
      .sort((a, b) => b.field.length - a.field.length)[0];
    if (holder) holder.problems.push(problem);
    else rows.push({ field: problem.field, value: undefined, problems: [problem] });
  }
  return { rows, general };
}
