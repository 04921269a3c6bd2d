import { describe, expect, it } from "vitest";
import { LineRedactor, redactLines, redactSecrets } from "../src/fix/redact.js";

/**
 * Fake credentials are assembled at run time from a seeded generator, so this
 * file holds no string a secret scanner would flag, and every run uses the same values.
 */
function fake(length: number, alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", seed = length * 7919): string {
  let state = seed;
  let out = "";
  for (let i = 0; i < length; i += 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out += alphabet[state % alphabet.length];
  }
  return out;
}
const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const secrets = {
  ghp: `ghp_${fake(36)}`,
  gho: `gho_${fake(36, undefined, 11)}`,
  ghu: `ghu_${fake(36, undefined, 12)}`,
  ghs: `ghs_${fake(36, undefined, 13)}`,
  ghr: `ghr_${fake(36, undefined, 14)}`,
  githubPat: `github_pat_${fake(22)}_${fake(59)}`,
  akia: `AKIA${fake(16, UPPER_DIGITS)}`,
  asia: `ASIA${fake(16, UPPER_DIGITS, 3)}`,
  awsSecret: fake(40, BASE64),
  slackBot: `xoxb-${fake(12, "0123456789")}-${fake(13, "0123456789")}-${fake(24)}`,
  slackUser: `xoxp-${fake(12, "0123456789", 5)}-${fake(24, undefined, 6)}`,
  slackHookPath: `T${fake(8, UPPER_DIGITS)}/B${fake(8, UPPER_DIGITS, 9)}/${fake(24, undefined, 10)}`,
  stripeLive: `sk_live_${fake(24)}`,
  stripeRestricted: `rk_live_${fake(24, undefined, 21)}`,
  stripePublishable: `pk_live_${fake(24, undefined, 22)}`,
  stripeTest: `sk_test_${fake(24, undefined, 23)}`,
  google: `AIza${fake(35, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")}`,
  jwt: `eyJ${fake(20, undefined, 31)}.eyJ${fake(30, undefined, 32)}.${fake(43, undefined, 33)}`,
  password: `Pw-${fake(14, undefined, 41)}`,
  plain: fake(20, undefined, 42),
};

/** [what, text, the secret that must disappear] */
const truePositives: [string, string, string][] = [
  ["classic PAT", `git clone https://github.com/acme/widgets using ${secrets.ghp}`, secrets.ghp],
  ["OAuth token", `gh auth status: logged in with ${secrets.gho}`, secrets.gho],
  ["user-to-server token", `token ${secrets.ghu} expires soon`, secrets.ghu],
  ["installation token", `GITHUB_TOKEN=${secrets.ghs}`, secrets.ghs],
  ["refresh token", `"refresh_token": "${secrets.ghr}"`, secrets.ghr],
  ["fine-grained PAT", `Authorization: token ${secrets.githubPat}`, secrets.githubPat],
  ["AWS access key id", `aws_access_key_id = ${secrets.akia}`, secrets.akia],
  ["AWS temporary key id", `Credentials: ${secrets.asia} (session)`, secrets.asia],
  ["AWS secret key", `aws_secret_access_key=${secrets.awsSecret}`, secrets.awsSecret],
  ["AWS secret key, YAML", `AWS_SECRET_ACCESS_KEY: "${secrets.awsSecret}"`, secrets.awsSecret],
  ["Slack bot token", `SLACK_BOT=${secrets.slackBot}`, secrets.slackBot],
  ["Slack user token in prose", `posting with ${secrets.slackUser} to #ci`, secrets.slackUser],
  ["Slack webhook", `curl -X POST https://hooks.slack.com/services/${secrets.slackHookPath} -d @msg.json`, secrets.slackHookPath],
  ["Stripe live secret key", `Stripe.api_key = ${secrets.stripeLive}`, secrets.stripeLive],
  ["Stripe restricted key", `using ${secrets.stripeRestricted}`, secrets.stripeRestricted],
  ["Stripe live publishable key", `pk=${secrets.stripePublishable}`, secrets.stripePublishable],
  ["Stripe test secret key", `STRIPE_KEY ${secrets.stripeTest}`, secrets.stripeTest],
  ["Google API key", `maps.googleapis.com/maps/api/geocode/json?key=${secrets.google}`, secrets.google],
  ["JWT", `Cookie: session=${secrets.jwt}; Path=/`, secrets.jwt],
  ["password in URL", `DATABASE_URL postgres://app:${secrets.password}@db.internal:5432/app`, secrets.password],
  ["token in git URL", `remote: https://x-access-token:${secrets.plain}@github.com/acme/widgets.git`, secrets.plain],
  ["password=", `mysql -u root --password=${secrets.password} -e 'select 1'`, secrets.password],
  ["password:", `password: ${secrets.password}`, secrets.password],
  ["quoted JSON", `{"user":"ci","password":"${secrets.password}"}`, secrets.password],
  ["token=", `https://example.com/callback?state=1&token=${secrets.plain}&x=2`, secrets.plain],
  ["secret=", `client_secret=${secrets.plain}`, secrets.plain],
  ["api_key=", `api_key=${secrets.plain}`, secrets.plain],
  ["apiKey:", `apiKey: '${secrets.plain}'`, secrets.plain],
  ["env-style FOO_TOKEN", `NPM_TOKEN=${secrets.plain} npm publish`, secrets.plain],
  ["export with quotes", `export DB_PASSWORD="${secrets.password}"`, secrets.password],
  ["npmrc auth", `//registry.npmjs.org/:_authToken=${secrets.plain}`, secrets.plain],
  ["bearer header", `curl -H "Authorization: Bearer ${secrets.plain}" https://api.example.com`, secrets.plain],
  ["hard-coded in code", `const apiKey = "${secrets.plain}";`, secrets.plain],
];

/** Lines that look a little like secrets and must come out unchanged. */
const nearMisses: string[] = [
  "HEAD is now at 3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a3f Merge pull request #42",
  "tokenizer=bert-base-uncased",
  "max_tokens=1024 temperature=0.2",
  "token_count: 17",
  "SyntaxError: Unexpected token 'export'",
  "Unexpected token: '}'",
  "password_reset_url=https://example.com/reset",
  "  GITHUB_TOKEN: ***",
  "  token: ${{ secrets.GITHUB_TOKEN }}",
  "const token = getToken();",
  "    password: string;",
  "password: process.env.DB_PASSWORD,",
  "Error: Bad credentials: token expired",
  "keyword=search monkey=1 secretary=Ann",
  "primary_key: id",
  "sha256:9d2f6c1a5b4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c",
  "integrity sha512-Y2xlYW4gZGVwZW5kZW5jeSBoYXNoIG9mIG5vIGludGVyZXN0IGF0IGFsbA==",
  "git@github.com:acme/widgets.git",
  "https://github.com/acme/widgets/actions/runs/123456789",
  "-----BEGIN CERTIFICATE-----",
  "-----BEGIN PUBLIC KEY-----",
  `pk_test_${fake(24)}`,
  "ghp_short is not a token",
  "AKIAEXAMPLE",
  "eyJhbGciOiJIUzI1NiJ9 is only a header",
  "2024-05-01T12:00:00.1234567Z Run npm test",
  "use sk_live_ keys only in production",
  "Set a passphrase when prompted",
];

describe("redactSecrets", () => {
  it.each(truePositives)("redacts %s", (_what, text, secret) => {
    const result = redactSecrets(text);
    expect(result.text).not.toContain(secret);
    expect(result.text).toContain("[REDACTED");
    expect(result.count).toBeGreaterThanOrEqual(1);
  });

  it.each(nearMisses)("leaves %j intact", (text) => {
    expect(redactSecrets(text)).toEqual({ text, count: 0 });
  });

  it("keeps the key of an assignment and names the kind of token", () => {
    expect(redactSecrets(`password=${secrets.password}`).text).toBe("password=[REDACTED]");
    expect(redactSecrets(`"password": "${secrets.password}"`).text).toBe('"password": "[REDACTED]"');
    expect(redactSecrets(`use ${secrets.ghp} now`).text).toBe("use [REDACTED:github-token] now");
    expect(redactSecrets(`postgres://app:${secrets.password}@db:5432/app`).text).toBe("postgres://app:[REDACTED]@db:5432/app");
  });

  it("counts each secret once and is idempotent", () => {
    const text = `GITHUB_TOKEN=${secrets.ghs} AWS=${secrets.akia} url=https://u:${secrets.password}@h/x`;
    const first = redactSecrets(text);
    expect(first.count).toBe(3);
    const second = redactSecrets(first.text);
    expect(second).toEqual({ text: first.text, count: 0 });
  });

  it("redacts a multi-line private key block and keeps the line count", () => {
    const body = Array.from({ length: 6 }, (_, i) => fake(64, BASE64, 100 + i));
    const text = ["before", "-----BEGIN RSA PRIVATE KEY-----", ...body, "-----END RSA PRIVATE KEY-----", "after"].join("\n");
    const result = redactSecrets(text);
    for (const line of body) expect(result.text).not.toContain(line);
    expect(result.text.split("\n")).toHaveLength(text.split("\n").length);
    expect(result.text.split("\n")[0]).toBe("before");
    expect(result.text.split("\n")[1]).toBe("[REDACTED:private-key]");
    expect(result.text.split("\n").at(-1)).toBe("after");
    expect(result.count).toBe(1);
  });

  it("redacts an OpenSSH key and a JSON-escaped key on one line", () => {
    const body = fake(70, BASE64, 7);
    const openssh = redactSecrets(`-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----`);
    expect(openssh.text).not.toContain(body);
    const json = redactSecrets(`{"private_key": "-----BEGIN PRIVATE KEY-----\\n${body}\\n-----END PRIVATE KEY-----\\n", "x": 1}`);
    expect(json.text).not.toContain(body);
    expect(json.text).toContain('"x": 1');
  });
});

describe("LineRedactor and redactLines (streams)", () => {
  it("drops the body of a key block that spans lines, whatever the chunking", async () => {
    const body = Array.from({ length: 4 }, (_, i) => fake(64, BASE64, 200 + i));
    async function* lines() {
      yield "Run ./deploy.sh";
      yield "-----BEGIN EC PRIVATE KEY-----";
      for (const line of body) yield line;
      yield "-----END EC PRIVATE KEY-----";
      yield `deployed with token=${secrets.plain}`;
    }
    const out: string[] = [];
    const iterator = redactLines(lines());
    let step = await iterator.next();
    while (!step.done) {
      out.push(step.value);
      step = await iterator.next();
    }
    expect(out).toEqual(["Run ./deploy.sh", "[REDACTED:private-key]", "deployed with token=[REDACTED]"]);
    expect(step.value).toBe(2);
  });

  it("ends a key block cut short at the first line that cannot be base64", () => {
    const redactor = new LineRedactor();
    expect(redactor.push("-----BEGIN PRIVATE KEY-----")).toBe("[REDACTED:private-key]");
    expect(redactor.push(fake(64, BASE64, 9))).toBeNull();
    expect(redactor.push("npm ERR! code ELIFECYCLE")).toBe("npm ERR! code ELIFECYCLE");
    expect(redactor.push("next line")).toBe("next line");
  });

  it("treats screened lines as clean outside key blocks and still drops key bodies", () => {
    const redactor = new LineRedactor();
    expect(redactor.pushScreened("plain output")).toBe("plain output");
    redactor.push("-----BEGIN PRIVATE KEY-----");
    expect(redactor.pushScreened(fake(64, BASE64, 3))).toBeNull();
  });
});
