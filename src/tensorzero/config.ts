import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * A reader for the parts of tensorzero.toml that fixloop checks against its code:
 * metric names and settings, the function's variants, templates and schemas.
 * It understands the TOML subset our config uses (tables, dotted keys, strings,
 * numbers, booleans, arrays); inline tables are kept as raw text. It is not a
 * general TOML parser and is not meant to be one.
 */

export type TomlValue = string | number | boolean | TomlValue[] | { raw: string };

export interface TomlSection {
  /** Table path, e.g. ["functions", "fixloop_patch", "variants", "gpt_5_mini_v1"]; [] for the root. */
  path: string[];
  /** Keys as written (dotted keys joined with "."), e.g. "templates.user.path". */
  entries: Map<string, TomlValue>;
}

export interface ConfiguredMetric {
  name: string;
  type: string | undefined;
  optimize: string | undefined;
  level: string | undefined;
}

export interface ConfiguredVariant {
  name: string;
  type: string | undefined;
  model: string | undefined;
  /** Template name → path relative to the config file. */
  templatePaths: Record<string, string>;
}

export interface ConfiguredFunction {
  name: string;
  type: string | undefined;
  /** Schema name → path relative to the config file. */
  schemaPaths: Record<string, string>;
  variants: ConfiguredVariant[];
  experimentation: { type: string | undefined; candidateVariants: string[]; fallbackVariants: string[]; metric: string | undefined } | null;
}

/** The `[gateway]` settings fixloop depends on. */
export interface ConfiguredGateway {
  /** `observability.enabled`: true makes the gateway refuse to start without its database. */
  observabilityEnabled: boolean | undefined;
  /** `observability.backend`: "postgres", "clickhouse" or "auto" (TensorZero's default, which prefers ClickHouse when both are set). */
  observabilityBackend: string | undefined;
}

/** tensorzero/tensorzero.toml at the repository root (works from src/ under tsx and from dist/). */
export const DEFAULT_TENSORZERO_CONFIG_PATH = fileURLToPath(new URL("../../tensorzero/tensorzero.toml", import.meta.url));

export async function readTensorZeroConfig(path: string = DEFAULT_TENSORZERO_CONFIG_PATH): Promise<{
  metrics: ConfiguredMetric[];
  functions: ConfiguredFunction[];
  gateway: ConfiguredGateway;
}> {
  const text = await readFile(path, "utf8");
  return { metrics: readMetricsFromToml(text), functions: readFunctionsFromToml(text), gateway: readGatewayFromToml(text) };
}

export function readGatewayFromToml(text: string): ConfiguredGateway {
  const section = parseTomlSections(text).find((s) => s.path.length === 1 && s.path[0] === "gateway");
  const enabled = section?.entries.get("observability.enabled");
  return {
    observabilityEnabled: typeof enabled === "boolean" ? enabled : undefined,
    observabilityBackend: section ? stringEntry(section, "observability.backend") : undefined,
  };
}

export function readMetricsFromToml(text: string): ConfiguredMetric[] {
  return parseTomlSections(text)
    .filter((s) => s.path.length === 2 && s.path[0] === "metrics")
    .map((s) => ({
      name: s.path[1],
      type: stringEntry(s, "type"),
      optimize: stringEntry(s, "optimize"),
      level: stringEntry(s, "level"),
    }));
}

export function readFunctionsFromToml(text: string): ConfiguredFunction[] {
  const sections = parseTomlSections(text);
  const functions = new Map<string, ConfiguredFunction>();
  const fn = (name: string): ConfiguredFunction => {
    let found = functions.get(name);
    if (!found) {
      found = { name, type: undefined, schemaPaths: {}, variants: [], experimentation: null };
      functions.set(name, found);
    }
    return found;
  };

  for (const section of sections) {
    const [head, name, sub, variantName] = section.path;
    if (head !== "functions" || name === undefined) continue;
    if (section.path.length === 2) {
      const target = fn(name);
      target.type = stringEntry(section, "type");
      target.schemaPaths = namedPaths(section, "schemas", "_schema");
    } else if (section.path.length === 4 && sub === "variants") {
      fn(name).variants.push({
        name: variantName,
        type: stringEntry(section, "type"),
        model: stringEntry(section, "model"),
        templatePaths: namedPaths(section, "templates", "_template"),
      });
    } else if (section.path.length === 3 && sub === "experimentation") {
      fn(name).experimentation = {
        type: stringEntry(section, "type"),
        candidateVariants: stringList(section, "candidate_variants"),
        fallbackVariants: stringList(section, "fallback_variants"),
        metric: stringEntry(section, "metric"),
      };
    }
  }
  return [...functions.values()];
}

/** Collects `<kind>.<name>.path = "…"` and the legacy `<name>_schema|_template = "…"` keys. */
function namedPaths(section: TomlSection, kind: string, legacySuffix: string): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const [key, value] of section.entries) {
    if (typeof value !== "string") continue;
    const modern = new RegExp(`^${kind}\\.([^.]+)\\.path$`).exec(key);
    if (modern) paths[modern[1]] = value;
    else if (key.endsWith(legacySuffix) && ["system", "user", "assistant"].includes(key.slice(0, -legacySuffix.length))) {
      paths[key.slice(0, -legacySuffix.length)] = value;
    }
  }
  return paths;
}

function stringList(section: TomlSection, key: string): string[] {
  const value = section.entries.get(key);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function stringEntry(section: TomlSection, key: string): string | undefined {
  const value = section.entries.get(key);
  return typeof value === "string" ? value : undefined;
}

export function parseTomlSections(text: string): TomlSection[] {
  const sections: TomlSection[] = [{ path: [], entries: new Map() }];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = stripComment(lines[i]).trim();
    if (line === "") continue;

    const header = /^\[\[?(.+?)\]\]?$/.exec(line);
    if (header && !line.includes("=")) {
      sections.push({ path: splitDotted(header[1]), entries: new Map() });
      continue;
    }

    const eq = indexOutsideQuotes(line, "=");
    if (eq < 0) throw new Error(`tensorzero.toml line ${i + 1}: expected "key = value" or a [table] header`);
    // Arrays and inline tables may continue over several lines.
    while (!balanced(line.slice(eq + 1)) && i + 1 < lines.length) {
      i += 1;
      line += " " + stripComment(lines[i]).trim();
    }
    const key = splitDotted(line.slice(0, eq)).join(".");
    sections[sections.length - 1].entries.set(key, parseValue(line.slice(eq + 1).trim(), i + 1));
  }
  return sections;
}

function parseValue(raw: string, lineNo: number): TomlValue {
  if (raw.startsWith('"')) return JSON.parse(raw) as string;
  if (raw.startsWith("'")) return raw.slice(1, -1);
  if (raw === "true" || raw === "false") return raw === "true";
  if (raw.startsWith("[")) {
    const inner = raw.slice(1, raw.lastIndexOf("]")).trim();
    return splitTopLevel(inner)
      .map((part) => part.trim())
      .filter((part) => part !== "")
      .map((part) => parseValue(part, lineNo));
  }
  if (raw.startsWith("{")) return { raw };
  const number = Number(raw.replace(/_/g, ""));
  if (raw !== "" && Number.isFinite(number)) return number;
  throw new Error(`tensorzero.toml line ${lineNo}: cannot read value ${raw}`);
}

/** Splits `a."b.c".d` into ["a", "b.c", "d"]. */
function splitDotted(key: string): string[] {
  return splitOutsideQuotes(key, ".").map((part) => {
    const trimmed = part.trim();
    if (trimmed.startsWith('"')) return JSON.parse(trimmed) as string;
    if (trimmed.startsWith("'")) return trimmed.slice(1, -1);
    return trimmed;
  });
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  scan(text, (ch, index) => {
    if (ch === "[" || ch === "{") depth += 1;
    else if (ch === "]" || ch === "}") depth -= 1;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  });
  parts.push(text.slice(start));
  return parts;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  scan(text, (ch, index) => {
    if (ch === separator) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  });
  parts.push(text.slice(start));
  return parts;
}

function indexOutsideQuotes(text: string, target: string): number {
  let found = -1;
  scan(text, (ch, index) => {
    if (found < 0 && ch === target) found = index;
  });
  return found;
}

function balanced(text: string): boolean {
  let depth = 0;
  scan(text, (ch) => {
    if (ch === "[" || ch === "{") depth += 1;
    else if (ch === "]" || ch === "}") depth -= 1;
  });
  return depth <= 0;
}

function stripComment(line: string): string {
  const hash = indexOutsideQuotes(line, "#");
  return hash < 0 ? line : line.slice(0, hash);
}

/** Calls `visit` for every character that is not inside a quoted string. */
function scan(text: string, visit: (ch: string, index: number) => void): void {
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (quote === '"' && ch === "\\") i += 1;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      continue;
    }
    visit(ch, i);
  }
}
