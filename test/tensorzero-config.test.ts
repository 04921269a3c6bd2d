import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { PATCH_FUNCTION_NAME } from "../src/fix/model.js";
import { PATCH_TEMPLATE_DIR, PROMPT_VERSION } from "../src/fix/prompt.js";
import { DEFAULT_TENSORZERO_CONFIG_PATH, parseTomlSections, readTensorZeroConfig } from "../src/tensorzero/config.js";
import { METRICS, METRIC_DEFINITIONS, isMetricName, metricLevel } from "../src/tensorzero/metrics.js";

const CONFIG_DIR = dirname(DEFAULT_TENSORZERO_CONFIG_PATH);

describe("tensorzero.toml against the code", () => {
  it("defines exactly the metrics the code sends, with the same type, level and direction", async () => {
    const { metrics } = await readTensorZeroConfig();
    const fromToml = Object.fromEntries(metrics.map((m) => [m.name, { name: m.name, type: m.type, optimize: m.optimize, level: m.level }]));
    expect(fromToml).toEqual(METRIC_DEFINITIONS);
    expect(Object.values(METRICS).sort()).toEqual(Object.keys(METRIC_DEFINITIONS).sort());
    expect(isMetricName("fixloop_ci_passed")).toBe(true);
    expect(isMetricName("toString")).toBe(false);
    expect(metricLevel(METRICS.prMerged)).toBe("episode");
    expect(metricLevel(METRICS.patchApplied)).toBe("inference");
  });

  it("defines the patch function with two variants, each with a template for every schema, in the current prompt version", async () => {
    const { functions } = await readTensorZeroConfig();
    const fn = functions.find((f) => f.name === PATCH_FUNCTION_NAME);
    expect(fn).toBeDefined();
    expect(fn!.type).toBe("chat");
    expect(Object.keys(fn!.schemaPaths).sort()).toEqual(["system", "user"]);
    for (const schemaPath of Object.values(fn!.schemaPaths)) expect(existsSync(join(CONFIG_DIR, schemaPath))).toBe(true);

    for (const variant of fn!.variants) {
      expect(variant.type).toBe("chat_completion");
      expect(variant.model).toMatch(/^\w+::/);
      expect(Object.keys(variant.templatePaths).sort()).toEqual(Object.keys(fn!.schemaPaths).sort());
      for (const templatePath of Object.values(variant.templatePaths)) expect(existsSync(join(CONFIG_DIR, templatePath))).toBe(true);
    }
    // Older prompt versions may stay while an experiment decides; the current one needs two variants of its own.
    const current = fn!.variants.filter((variant) => variant.name.endsWith(`_${PROMPT_VERSION}`));
    expect(current.length).toBeGreaterThanOrEqual(2);
    for (const variant of current) {
      for (const templatePath of Object.values(variant.templatePaths)) expect(templatePath.startsWith(`${PATCH_TEMPLATE_DIR}/`)).toBe(true);
    }
  });

  it("runs the experiment over defined variants, including every current-version variant, and optimises a defined metric", async () => {
    const { functions } = await readTensorZeroConfig();
    const fn = functions.find((f) => f.name === PATCH_FUNCTION_NAME)!;
    expect(fn.experimentation?.type).toBe("adaptive");
    const defined = fn.variants.map((v) => v.name);
    for (const candidate of fn.experimentation!.candidateVariants) expect(defined).toContain(candidate);
    const { candidateVariants, fallbackVariants } = fn.experimentation!;
    for (const fallback of fallbackVariants) expect(defined).toContain(fallback);
    // TensorZero refuses a variant listed as both.
    expect(candidateVariants.filter((name) => fallbackVariants.includes(name))).toEqual([]);
    // A provider outage must not fail every attempt of an episode: a fallback, on a model no candidate uses.
    expect(fallbackVariants.length).toBeGreaterThanOrEqual(1);
    const candidateModels = new Set(fn.variants.filter((v) => candidateVariants.includes(v.name)).map((v) => v.model));
    for (const fallback of fallbackVariants) expect(candidateModels.has(fn.variants.find((v) => v.name === fallback)!.model)).toBe(false);
    for (const name of defined.filter((n) => n.endsWith(`_${PROMPT_VERSION}`))) expect([...candidateVariants, ...fallbackVariants]).toContain(name);
    expect(Object.keys(METRIC_DEFINITIONS)).toContain(fn.experimentation!.metric);
  });

  it("uses every schema property in the current templates, and no variable the schema lacks in any", async () => {
    const { functions } = await readTensorZeroConfig();
    const fn = functions.find((f) => f.name === PATCH_FUNCTION_NAME)!;
    for (const variant of fn.variants) {
      for (const [name, templatePath] of Object.entries(variant.templatePaths)) {
        const schema = JSON.parse(readFileSync(join(CONFIG_DIR, fn.schemaPaths[name]), "utf8")) as { properties: Record<string, unknown> };
        const used = templateRootVariables(readFileSync(join(CONFIG_DIR, templatePath), "utf8"));
        if (variant.name.endsWith(`_${PROMPT_VERSION}`)) {
          expect([...used].sort(), `${variant.name}/${name}`).toEqual(Object.keys(schema.properties).sort());
        } else {
          // Older prompt versions stay as they were: they ignore the optional arguments added since.
          for (const variable of used) expect(Object.keys(schema.properties), `${variant.name}/${name}`).toContain(variable);
        }
      }
    }
  });

  it("guards optional arguments with `is defined` (the gateway renders with strict undefined)", () => {
    const user = readFileSync(join(CONFIG_DIR, PATCH_TEMPLATE_DIR, "user.minijinja"), "utf8");
    const schema = JSON.parse(readFileSync(join(CONFIG_DIR, "functions/fixloop_patch/user_schema.json"), "utf8")) as {
      properties: Record<string, unknown>;
      required: string[];
    };
    const optional = Object.keys(schema.properties).filter((key) => !schema.required.includes(key));
    expect(optional).toEqual(["previous_attempt", "same_failure_jobs", "repo_instructions", "person_hint"]);
    for (const key of optional) {
      const firstUse = user.search(new RegExp(`\\b${key}\\b`));
      expect(user.slice(firstUse).startsWith(`${key} is defined`)).toBe(true);
    }
  });
});

describe("tensorzero.toml's gateway settings", () => {
  it("pins the observability backend to Postgres and requires it (the default 'auto' would move to ClickHouse once its URL is set)", async () => {
    const { gateway } = await readTensorZeroConfig();
    expect(gateway).toEqual({ observabilityEnabled: true, observabilityBackend: "postgres" });
  });

  it("gives the compose file's UI the Postgres URL (its API-keys page is off without it)", () => {
    const compose = readFileSync(join(CONFIG_DIR, "docker-compose.yml"), "utf8");
    const ui = /\n  ui:\n([\s\S]*?)\n  \w[\w-]*:\n/.exec(compose)?.[1] ?? "";
    expect(ui).toMatch(/TENSORZERO_GATEWAY_URL:/);
    expect(ui).toMatch(/TENSORZERO_POSTGRES_URL: \*postgres-url/);
  });
});

describe("parseTomlSections", () => {
  it("reads tables, dotted and quoted keys, multi-line arrays and comments", () => {
    const sections = parseTomlSections(`
top = 1 # comment
[functions."odd.name".variants.v1]
type = "chat_completion" # trailing
templates.user.path = "a#b.minijinja"
weights = [
  "x", # first
  'y',
]
inline = { non_streaming.total_ms = 10 }
flag = false
`);
    expect(sections[0].entries.get("top")).toBe(1);
    expect(sections[1].path).toEqual(["functions", "odd.name", "variants", "v1"]);
    expect(sections[1].entries.get("type")).toBe("chat_completion");
    expect(sections[1].entries.get("templates.user.path")).toBe("a#b.minijinja");
    expect(sections[1].entries.get("weights")).toEqual(["x", "y"]);
    expect(sections[1].entries.get("inline")).toEqual({ raw: "{ non_streaming.total_ms = 10 }" });
    expect(sections[1].entries.get("flag")).toBe(false);
    expect(() => parseTomlSections("just words")).toThrow(/line 1/);
  });
});

/** Top-level names a minijinja template reads (loop variables excluded). */
function templateRootVariables(template: string): Set<string> {
  const loopVariables = new Set([...template.matchAll(/\{%-?\s*for\s+(\w+)\s+in\s/g)].map((m) => m[1]));
  const names = new Set<string>();
  const expressions = [...template.matchAll(/\{\{-?([\s\S]*?)-?\}\}|\{%-?([\s\S]*?)-?%\}/g)].map((m) => m[1] ?? m[2]);
  const keywords = new Set(["if", "elif", "else", "endif", "for", "in", "endfor", "is", "defined", "not", "and", "or", "length", "true", "false", "none"]);
  for (const expression of expressions) {
    // Strip string literals, then take identifiers that are not attribute accesses or filters.
    const code = expression.replace(/'[^']*'|"[^"]*"/g, "");
    for (const match of code.matchAll(/(?<![.\w|])\s*([A-Za-z_]\w*)/g)) {
      const name = match[1];
      if (!keywords.has(name) && !loopVariables.has(name)) names.add(name);
    }
  }
  return names;
}
