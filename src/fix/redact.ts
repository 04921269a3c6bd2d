/**
 * Secret redaction for everything fixloop sends out of the process: prompts,
 * PR bodies, comments, feedback, stored errors, CLI output. Logs and
 * repository files are untrusted and may carry credentials a job printed by
 * mistake.
 *
 * The formats follow what the best-kept scanners know (gitleaks' default
 * rules, GitHub secret scanning's provider patterns): fixed token prefixes
 * first, then credentials by their position (URL userinfo, `AccountKey=`,
 * `curl -u`, `mysql -p`, assignments to secret-sounding names). Near-misses
 * stay intact: git SHAs, `sha512-` integrity strings, image digests, UUIDs and
 * plain URLs. Zero-width characters that split a token are removed first.
 *
 * Two shapes: `redactSecrets(text)` for whole texts, and `LineRedactor` (or the
 * `redactLines` generator) for streams read line by line. Private-key blocks
 * span lines, so the line redactor keeps the "inside a key" state between calls.
 *
 * Replacements name the kind of secret (`[REDACTED:github-token]`) so a reader
 * or a model still understands what stood there, and keep the key of
 * assignments (`password=[REDACTED]`) so the line keeps its meaning.
 */
import { ahoCorasick } from "./aho-corasick.js";

export interface RedactionResult {
  text: string;
  count: number;
}

const REDACTED = "[REDACTED]";

/**
 * Cheap first look: a line none of these substrings occur in (ignoring case)
 * holds none of the secrets below, so the full rule set runs on a small share
 * of a log's lines. Every rule needs one of them: keep the two in step.
 */
export const SECRET_HINT_WORDS: readonly string[] = [
  "-----BEGIN", "://", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "AKIA", "ASIA", "ABIA", "ACCA",
  "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxr-", "xoxs-", "hooks.slack", "_live_", "_test_", "AIza", "eyJ",
  "bearer", "authoriz", "authoris", "pass", "pwd", "token", "secret", "key", "credential",
  "ya29.", "npm_", "pypi-", "sk-", "glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glcbt-", "glimt-", "glagent-", "gloas-",
  "glffct-", "hf_", "api_org_", "SG.", "discord", "sig=", "\"auth\"", "curl", "mysql", "mariadb", "_auth", "_cred",
];

/**
 * Secrets no word announces: a bare 40-character AWS secret key, or a token
 * split by zero-width characters. Lines screened by words only must still pass
 * this test (see `pushScreened`). A run is tried from its first character only: tried
 * from every one, a long path or base64 blob costs a pass per character.
 */
export const SECRET_SHAPES = /[\u200b-\u200d\u2060\ufeff\u00ad]|(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}/;

/** Zero-width characters between token characters: invisible, and they hide a token from every pattern. */
const ZERO_WIDTH_INSIDE_TOKEN = /(?<=[A-Za-z0-9_+/=.-])[\u200b-\u200d\u2060\ufeff\u00ad]+(?=[A-Za-z0-9_+/=.-])/g;

/**
 * A case-insensitive test for any of some literal substrings: what the expression
 * `/word1|word2|…/i` answers, in one pass of an Aho-Corasick automaton over the text's UTF-16
 * units. The expression tried every word at every place; the hint lists run on every line a
 * screen lets through, and were a good part of the cost of those lines.
 */
export class WordSet {
  /** Per ASCII unit, its class (0: in no word); units past ASCII are looked up in `high`. */
  private readonly ascii = new Uint16Array(128);
  /** Class per unit past ASCII, filled as they are met (NOT_SEEN until then). */
  private readonly high = new Uint16Array(0x10000 - 128).fill(NOT_SEEN);
  private readonly canonicalClass = new Map<string, number>();
  private readonly table: Int32Array;
  /** The absorbing state: a word was found. */
  private readonly found: number;
  /** An empty word: every text holds it. */
  private readonly always: boolean;

  constructor(words: readonly string[]) {
    let classes = 1;
    const classOf = (unit: number): number => {
      const canonical = canonicalize(unit);
      let k = this.canonicalClass.get(canonical);
      if (k === undefined) {
        k = classes++;
        this.canonicalClass.set(canonical, k);
      }
      return k;
    };
    const encoded = words.map((word) => Array.from({ length: word.length }, (_, i) => classOf(word.charCodeAt(i))));
    for (let unit = 0; unit < 128; unit += 1) this.ascii[unit] = this.canonicalClass.get(canonicalize(unit)) ?? 0;
    const { states, delta, marks } = ahoCorasick(
      encoded.map((word) => ({ classes: word, marks: 1 })),
      classes,
    );
    // Rows pre-multiplied by the class count; every transition into a word's end leads to `found`.
    this.found = states * classes;
    this.table = new Int32Array(states * classes);
    for (let at = 0; at < states * classes; at += 1) this.table[at] = marks[delta[at]] !== 0 ? this.found : delta[at] * classes;
    this.always = words.some((word) => word.length === 0);
  }

  test(text: string): boolean {
    const table = this.table;
    const ascii = this.ascii;
    const found = this.found;
    let state = 0;
    if (this.always) return true;
    for (let i = 0; i < text.length; i += 1) {
      const unit = text.charCodeAt(i);
      state = table[state + (unit < 128 ? ascii[unit] : this.highClass(unit))];
      if (state === found) return true;
    }
    return false;
  }

  private highClass(unit: number): number {
    let k = this.high[unit - 128];
    if (k === NOT_SEEN) {
      k = this.canonicalClass.get(canonicalize(unit)) ?? 0;
      this.high[unit - 128] = k;
    }
    return k;
  }
}

const NOT_SEEN = 0xffff;

/**
 * What a case-insensitive expression without the `u` flag compares a UTF-16 unit by
 * (ECMAScript's Canonicalize): its upper case when that is one unit and does not turn a unit
 * past ASCII into an ASCII one.
 */
function canonicalize(unit: number): string {
  const char = String.fromCharCode(unit);
  const upper = char.toUpperCase();
  if (upper.length !== 1) return char;
  if (unit >= 128 && upper.charCodeAt(0) < 128) return char;
  return upper;
}

/** A case-insensitive test for any of some literal substrings (see WordSet). */
export function anyOfWords(words: readonly string[]): WordSet {
  return new WordSet(words);
}

const MAY_HOLD_SECRET = anyOfWords(SECRET_HINT_WORDS);

function mayHoldSecret(text: string): boolean {
  return MAY_HOLD_SECRET.test(text) || SECRET_SHAPES.test(text);
}

const KEY_BLOCK_BEGIN = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/;
const KEY_BLOCK_END = /-----END ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/;
/** A whole key on one line, as in JSON strings with escaped newlines. */
const INLINE_KEY_BLOCK = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----[\s\S]*?-----END ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/g;
/** Lines that can sit inside a PEM body: base64, PEM headers, escaped newlines. */
const KEY_BODY_LINE = /^\s*"?[A-Za-z0-9+/=]*(?:\\n)?"?,?\s*$|^(Proc-Type|DEK-Info|Comment|Version):/;

/** Values that are already masked or are references, not secrets. */
function isPlaceholder(value: string): boolean {
  return (
    value.length === 0 ||
    /^\*+$/.test(value) ||
    value.startsWith("[REDACTED") ||
    value.startsWith("$") ||
    value.startsWith("%") ||
    value.startsWith("<") ||
    value.startsWith("{{") ||
    /^x+$/i.test(value) ||
    /^(null|nil|none|undefined|true|false|empty|changeme|redacted|hidden|masked)$/i.test(value)
  );
}

/** Words that follow `token:` or `secret:` in prose and error messages, not credentials. */
const PROSE_VALUES = new Set([
  "string", "str", "number", "int", "integer", "bool", "boolean", "any", "unknown", "object", "bytes", "optional",
  "invalid", "expired", "missing", "required", "provided", "present", "absent", "set", "unset", "not", "is", "was",
  "the", "a", "an", "none", "error", "failed", "denied", "revoked", "bad", "wrong", "ok", "yes", "no", "default",
  "value", "secret", "token", "password", "type", "field", "see", "from", "for", "in", "of", "to", "and", "or",
]);

/** `a.b.c` or `f(x)`: code that reads a secret from somewhere, not the secret itself. */
function looksLikeCodeReference(value: string): boolean {
  return /[()[\]]/.test(value) || /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$/.test(value);
}

interface Rule {
  kind: string;
  pattern: RegExp;
  /**
   * A cheap test every match of `pattern` passes: literals the match must contain, in `text` as
   * it is or in `lower` (its lower-case form, for the rules that ignore case). Most lines that
   * reach the redactor hold a hint word of some rule only ("pass" of a `PASS` line, a long path):
   * the other rules' expressions never run on them.
   */
  needs: (text: string, lower: string) => boolean;
  /** Returns the replacement, or null to leave the match as it was. */
  replace: (match: string, groups: string[]) => string | null;
}

const fixed =
  (kind: string) =>
  (): string =>
    `[REDACTED:${kind}]`;

const SECRET_KEY_WORDS =
  "password|passwd|passphrase|pwd|token|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[_-]?key|client[_-]?secret|credentials?";

/**
 * `KEY=value`, `key: value`, `"key": "value"`, `--password=value`, `export FOO_TOKEN="value"`.
 * The key must end with a secret word (so `tokenizer=` and `max_tokens=` stay), and the
 * value is judged by its form: env-style `KEY=value` is always a secret; `key: value` and
 * `key = value` only when quoted or clearly not prose or code. A key starts at a word
 * boundary only, which keeps the search linear on long runs like `a_a_a_…`.
 */
const ASSIGNMENT = new RegExp(
  `(?<![A-Za-z0-9_.-])(["']?)([A-Za-z0-9_.-]*?(?:${SECRET_KEY_WORDS}))\\1(\\s*)([:=])(\\s*)("[^"\\n]*"|'[^'\\n]*'|[^\\s"'\`,;&)}\\]]+)`,
  "gi",
);

function redactAssignment(_match: string, g: string[]): string | null {
  const [quote, key, spaceBefore, separator, spaceAfter, rawValue] = g;
  const quoted = rawValue.startsWith('"') || rawValue.startsWith("'");
  const value = quoted ? rawValue.slice(1, -1) : rawValue;
  if (isPlaceholder(value)) return null;
  if (!quoted) {
    if (looksLikeCodeReference(value)) return null;
    // `token = something` with spaces around `=` is code assigning a variable, not an env dump.
    if (separator === "=" && (spaceBefore.length > 0 || spaceAfter.length > 0)) return null;
    if (separator === ":" && (value.length < 4 || PROSE_VALUES.has(value.toLowerCase()))) return null;
  } else if (value.length < 3) {
    return null;
  }
  const keptValue = quoted ? `${rawValue[0]}${REDACTED}${rawValue[0]}` : REDACTED;
  return `${quote}${key}${quote}${spaceBefore}${separator}${spaceAfter}${keptValue}`;
}

/**
 * Env-style names that hold secrets by convention though no secret word ends
 * them: `STRIPE_KEY=…`, `MY_SECRET_VALUE=…`, `DEPLOY_PASS=…`. Only `NAME=value`
 * with nothing around `=` (an env dump or a shell line), so prose and code
 * (`cache_key = compute()`) are left alone.
 */
const ENV_SECRET_ASSIGNMENT =
  /(?<![A-Za-z0-9_.-])((?:export\s+)?(?:[A-Za-z][A-Za-z0-9_]*(?:_key|_keys|_pass|_auth|_creds?)|(?:[A-Za-z0-9]+_)*secret(?:_[A-Za-z0-9]+)*))=("[^"\n]*"|'[^'\n]*'|[^\s"'`,;&)}\]]+)/gi;

/** A bare AWS secret access key: 40 characters of base64 with both cases and digits, not a hex SHA or part of a longer blob. */
function isBareAwsSecret(value: string): boolean {
  if (!/[A-Z]/.test(value) || !/[a-z]/.test(value) || (value.match(/[0-9]/g) ?? []).length < 2) return false;
  // Paths look alike: many separators, or an empty segment.
  return !value.includes("//") && (value.match(/\//g) ?? []).length <= 3 && !value.startsWith("/") && !value.endsWith("/");
}

const RULES: Rule[] = [
  { kind: "private-key", needs: (t) => t.includes("-----BEGIN"), pattern: INLINE_KEY_BLOCK, replace: fixed("private-key") },
  {
    kind: "url-password",
    needs: (t) => t.includes("://") && t.includes("@"),
    pattern: /\b([a-zA-Z][a-zA-Z0-9+.-]{1,20}:\/\/)([^\s:/@'"]+):([^\s/@'"]+)@/g,
    replace: (_m, [scheme, user, password]) => (isPlaceholder(password) ? null : `${scheme}${user}:${REDACTED}@`),
  },
  {
    kind: "github-token",
    needs: (t) => t.includes("gh") || t.includes("github_pat_"),
    pattern: /(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,251})(?![A-Za-z0-9])/g,
    replace: fixed("github-token"),
  },
  {
    kind: "aws-access-key",
    needs: (t) => t.includes("AKIA") || t.includes("ASIA") || t.includes("ABIA") || t.includes("ACCA"),
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    replace: fixed("aws-access-key"),
  },
  {
    kind: "aws-secret-key",
    needs: (_t, l) => l.includes("secret") && l.includes("key"),
    pattern: /((?:aws_?)?secret_?(?:access_?)?key(?:_id)?["']?\s*[:=]\s*["']?)([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
    replace: (_m, [prefix]) => `${prefix}[REDACTED:aws-secret-key]`,
  },
  {
    kind: "gcp-oauth-token",
    needs: (t) => t.includes("ya29."),
    pattern: /(?<![A-Za-z0-9_-])ya29\.[0-9A-Za-z_-]{20,}/g,
    replace: fixed("gcp-oauth-token"),
  },
  {
    kind: "npm-token",
    needs: (t) => t.includes("npm_"),
    pattern: /(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
    replace: fixed("npm-token"),
  },
  {
    kind: "pypi-token",
    needs: (t) => t.includes("pypi-Ag"),
    pattern: /(?<![A-Za-z0-9])pypi-Ag[A-Za-z0-9_-]{50,}/g,
    replace: fixed("pypi-token"),
  },
  {
    kind: "anthropic-key",
    needs: (t) => t.includes("sk-ant-"),
    pattern: /(?<![A-Za-z0-9_-])sk-ant-[a-z]{2,8}\d{2}-[A-Za-z0-9_-]{20,}/g,
    replace: fixed("anthropic-key"),
  },
  {
    kind: "openai-key",
    needs: (t) => t.includes("sk-"),
    pattern: /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})/g,
    replace: fixed("openai-key"),
  },
  {
    kind: "gitlab-token",
    needs: (t) => t.includes("gl"),
    pattern: /(?<![A-Za-z0-9_-])(?:glpat|gldt|glrt|glptt|glft|glsoat|glcbt|glimt|glagent|gloas|glffct)-[A-Za-z0-9_.-]{20,}/g,
    replace: fixed("gitlab-token"),
  },
  {
    kind: "huggingface-token",
    needs: (t) => t.includes("hf_") || t.includes("api_org_"),
    pattern: /(?<![A-Za-z0-9_])(?:hf|api_org)_[A-Za-z0-9]{30,}(?![A-Za-z0-9_])/g,
    replace: fixed("huggingface-token"),
  },
  {
    kind: "sendgrid-key",
    needs: (t) => t.includes("SG."),
    pattern: /(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{30,50}/g,
    replace: fixed("sendgrid-key"),
  },
  {
    kind: "discord-webhook",
    needs: (t) => t.includes("discord"),
    pattern: /https:\/\/(?:(?:ptb|canary)\.)?discord(?:app)?\.com\/api\/webhooks\/\d+\/[A-Za-z0-9_-]+/g,
    replace: () => "https://discord.com/api/webhooks/[REDACTED:discord-webhook]",
  },
  {
    kind: "azure-storage-key",
    needs: (_t, l) => l.includes("key="),
    pattern: /\b((?:AccountKey|SharedAccessKey)=)([A-Za-z0-9+/]{20,}={0,2})/gi,
    replace: (_m, [prefix]) => `${prefix}[REDACTED:azure-key]`,
  },
  {
    kind: "azure-sas",
    needs: (_t, l) => l.includes("sig="),
    pattern: /([?&;]sig=)([A-Za-z0-9%+/=_-]{16,})/gi,
    replace: (_m, [prefix]) => `${prefix}[REDACTED:azure-sas]`,
  },
  {
    // ~/.docker/config.json: "auth" is base64 of user:password.
    kind: "docker-auth",
    needs: (_t, l) => l.includes('"auth"') || l.includes('"identitytoken"'),
    pattern: /("(?:auth|identitytoken)"\s*:\s*")([A-Za-z0-9+/_-]{8,}={0,2})(")/gi,
    replace: (_m, [prefix, , suffix]) => `${prefix}[REDACTED:docker-auth]${suffix}`,
  },
  {
    kind: "curl-user",
    needs: (t) => t.includes("-u") && (t.includes("curl") || t.includes("wget") || t.includes("http")),
    pattern: /(\b(?:curl|wget|http)\b[^\n]*?\s(?:-u|--user)(?:\s+|=))(['"]?)([^\s:'"]+):([^\s'"]+)\2/g,
    replace: (_m, [prefix, quote, user, password]) => (isPlaceholder(password) ? null : `${prefix}${quote}${user}:${REDACTED}${quote}`),
  },
  {
    // mysql -pSECRET (no space: with one, mysql prompts instead).
    kind: "mysql-password",
    needs: (t) => t.includes("-p") && (t.includes("mysql") || t.includes("mariadb")),
    pattern: /(\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n]*?\s-p)("[^"\n]+"|'[^'\n]+'|[^\s'"-][^\s]*)/g,
    replace: (_m, [prefix, value]) => (isPlaceholder(value.replace(/^["']|["']$/g, "")) ? null : `${prefix}${REDACTED}`),
  },
  {
    kind: "slack-token",
    needs: (t) => t.includes("xox"),
    pattern: /(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}/g,
    replace: fixed("slack-token"),
  },
  {
    kind: "slack-webhook",
    needs: (t) => t.includes("hooks.slack.com/"),
    pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]+/g,
    replace: () => "https://hooks.slack.com/[REDACTED:slack-webhook]",
  },
  {
    kind: "stripe-key",
    needs: (t) => t.includes("_live_") || t.includes("_test_"),
    pattern: /(?<![A-Za-z0-9])(?:(?:sk|rk)_(?:live|test)|pk_live)_[A-Za-z0-9]{16,}/g,
    replace: fixed("stripe-key"),
  },
  {
    kind: "google-api-key",
    needs: (t) => t.includes("AIza"),
    pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
    replace: fixed("google-api-key"),
  },
  {
    kind: "jwt",
    needs: (t) => t.includes("eyJ"),
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
    replace: fixed("jwt"),
  },
  {
    kind: "authorization",
    needs: (_t, l) => l.includes("authorization"),
    pattern: /\b(authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|bot)\s+)([^\s"']+)/gi,
    replace: (_m, [prefix, value]) => (isPlaceholder(value) ? null : `${prefix}${REDACTED}`),
  },
  {
    kind: "bearer",
    needs: (_t, l) => l.includes("bearer"),
    pattern: /\b(bearer\s+)([A-Za-z0-9._~+/-]{16,}=*)/gi,
    replace: (_m, [prefix]) => `${prefix}${REDACTED}`,
  },
  {
    kind: "assignment",
    needs: (t, l) =>
      (t.includes("=") || t.includes(":")) &&
      (l.includes("pass") || l.includes("pwd") || l.includes("token") || l.includes("secret") || l.includes("key") || l.includes("credential")),
    pattern: ASSIGNMENT,
    replace: redactAssignment,
  },
  {
    kind: "env-secret",
    needs: (t, l) => t.includes("=") && (l.includes("_key") || l.includes("_pass") || l.includes("_auth") || l.includes("_cred") || l.includes("secret")),
    pattern: ENV_SECRET_ASSIGNMENT,
    replace: (_m, [key, rawValue]) => {
      const quoted = rawValue.startsWith('"') || rawValue.startsWith("'");
      const value = quoted ? rawValue.slice(1, -1) : rawValue;
      if (isPlaceholder(value) || value.length < 3 || (!quoted && looksLikeCodeReference(value))) return null;
      return `${key}=${quoted ? `${rawValue[0]}${REDACTED}${rawValue[0]}` : REDACTED}`;
    },
  },
  {
    kind: "aws-secret-key",
    needs: (t) => t.length >= 40,
    pattern: /(?<![A-Za-z0-9/+=_.:-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_-])/g,
    replace: (match) => (isBareAwsSecret(match) ? "[REDACTED:aws-secret-key]" : null),
  },
];

/** Applies the single-line rules to one line (or a text without key blocks split over lines). */
function redactInline(line: string): RedactionResult {
  if (!mayHoldSecret(line)) return { text: line, count: 0 };
  let text = line.replace(ZERO_WIDTH_INSIDE_TOKEN, "");
  let count = 0;
  let lower: string | null = null;
  for (const rule of RULES) {
    lower ??= text.toLowerCase();
    if (!rule.needs(text, lower)) continue;
    rule.pattern.lastIndex = 0;
    if (!rule.pattern.test(text)) continue;
    rule.pattern.lastIndex = 0;
    text = text.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      // The callback gets the capture groups, then the offset (the first number), then the whole string.
      const groups: string[] = [];
      for (const value of rest) {
        if (typeof value === "number") break;
        groups.push(typeof value === "string" ? value : "");
      }
      const replacement = rule.replace(match, groups);
      if (replacement === null) return match;
      count += 1;
      return replacement;
    });
    // A replacement brings words of its own (`[REDACTED:github-token]`): later rules test the new text.
    lower = null;
  }
  return { text, count };
}

/**
 * Redacts a stream of lines. `push` returns the redacted line, or null for a line
 * inside a private-key block, which is dropped (the block's first line carries
 * the `[REDACTED:private-key]` marker).
 */
export class LineRedactor {
  count = 0;
  private insideKey = false;

  /** True between the lines of a private-key block: every line must go through `push`. */
  get insideKeyBlock(): boolean {
    return this.insideKey;
  }

  push(line: string): string | null {
    if (this.insideKey) return this.pushInsideKey(line);
    return this.pushOutside(line);
  }

  /**
   * For a line the caller already screened for `SECRET_HINT_WORDS` (or a
   * superset of them) and found none: only the key-block state needs a look.
   */
  pushScreened(line: string): string | null {
    if (this.insideKey) return this.pushInsideKey(line);
    return SECRET_SHAPES.test(line) ? this.pushOutside(line) : line;
  }

  /** For a line the caller screened for every secret hint word and shape (SECRET_SHAPES too) and found none. */
  pushClean(line: string): string | null {
    return this.insideKey ? this.pushInsideKey(line) : line;
  }

  private pushInsideKey(line: string): string | null {
    const end = KEY_BLOCK_END.exec(line);
    if (end) {
      this.insideKey = false;
      const rest = line.slice(end.index + end[0].length);
      return rest.trim() === "" ? null : this.pushOutside(rest);
    }
    if (KEY_BODY_LINE.test(line)) return null;
    // A line that cannot belong to a PEM body: the key was cut short, go on normally.
    this.insideKey = false;
    return this.pushOutside(line);
  }

  private pushOutside(line: string): string {
    const { text, count } = redactInline(line);
    this.count += count;
    const begin = KEY_BLOCK_BEGIN.exec(text);
    if (!begin) return text;
    // A key that starts here and does not end on this line (inline blocks were replaced above).
    this.insideKey = true;
    this.count += 1;
    return `${text.slice(0, begin.index)}[REDACTED:private-key]`;
  }
}

/**
 * Redacts a whole text. Line structure is kept: the lines of a private-key block
 * become empty lines, so line numbers in files stay right.
 */
export function redactSecrets(text: string): RedactionResult {
  if (!mayHoldSecret(text)) return { text, count: 0 };
  const redactor = new LineRedactor();
  const lines = text.split("\n").map((line) => redactor.push(line) ?? "");
  return { text: lines.join("\n"), count: redactor.count };
}

/**
 * Redacts lines from any (async) iterable; lines inside private-key blocks are
 * dropped. Returns the number of redactions when the iteration is done.
 */
export async function* redactLines(lines: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string, number> {
  const redactor = new LineRedactor();
  for await (const line of lines) {
    const redacted = redactor.push(line);
    if (redacted !== null) yield redacted;
  }
  return redactor.count;
}

/** The redacted text alone: for strings about to leave the process (PR bodies, comments, stored errors). */
export function redactText(text: string): string {
  return redactSecrets(text).text;
}

/** Every string inside a JSON-like value, redacted; the shape is kept. For model arguments and feedback payloads. */
export function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redactText(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item)])) as T;
  }
  return value;
}
