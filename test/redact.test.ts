import { describe, expect, it } from "vitest";
import { LineRedactor, redactLines, redactSecrets, WordSet } from "../src/fix/redact.js";
import { randomTexts } from "./random-texts.js";

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
  // Formats from gitleaks' default rules and GitHub secret scanning's provider patterns (assembled, not copied).
  gcp: `ya29.${fake(60, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 51)}`,
  npm: `npm_${fake(36, undefined, 52)}`,
  pypi: `pypi-AgEIcHlwaS5vcmc${fake(70, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 53)}`,
  openaiProject: `sk-proj-${fake(48, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 54)}`,
  anthropic: `sk-ant-api03-${fake(93, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 55)}AA`,
  gitlab: `glpat-${fake(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 56)}`,
  huggingface: `hf_${fake(34, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 57)}`,
  sendgrid: `SG.${fake(22, undefined, 58)}.${fake(43, undefined, 59)}`,
  discordHook: `${fake(18, "0123456789", 60)}/${fake(68, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 61)}`,
  azureKey: `${fake(86, BASE64, 62)}==`,
  azureSig: fake(43, BASE64, 63).replace(/\+/g, "%2B").replace(/\//g, "%2F"),
  dockerAuth: Buffer.from(`ci-bot:${fake(16, undefined, 64)}`).toString("base64"),
  // 62 letters and digits: the generator cycles on a power-of-two alphabet.
  awsBare: `${fake(18, undefined, 65)}/${fake(21, undefined, 66)}`,
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
  ["bare AWS secret key", `aws configure set ${secrets.akia} ${secrets.awsBare}`, secrets.awsBare],
  ["bare AWS secret key alone", secrets.awsBare, secrets.awsBare],
  ["Azure storage AccountKey", `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${secrets.azureKey};EndpointSuffix=core.windows.net`, secrets.azureKey],
  ["Azure SAS sig=", `https://acme.blob.core.windows.net/c/b.zip?sv=2022-11-02&se=2025-01-01&sp=r&sig=${secrets.azureSig}`, secrets.azureSig],
  ["GCP OAuth access token", `gcloud auth print-access-token => ${secrets.gcp}`, secrets.gcp],
  ["npm token", `//registry.npmjs.org/:_authToken=\${NPM} # was ${secrets.npm}`, secrets.npm],
  ["PyPI token", `twine upload -p ${secrets.pypi} dist/*`, secrets.pypi],
  ["OpenAI project key", `OpenAI(api_key=${secrets.openaiProject})`, secrets.openaiProject],
  ["Anthropic key", `client = Anthropic(${secrets.anthropic})`, secrets.anthropic],
  ["GitLab PAT", `git remote add gl https://gitlab.com/acme/w.git # ${secrets.gitlab}`, secrets.gitlab],
  ["Hugging Face token", `huggingface-cli login --token ${secrets.huggingface}`, secrets.huggingface],
  ["SendGrid key", `sendgrid configured with ${secrets.sendgrid}`, secrets.sendgrid],
  ["Discord webhook", `POST https://discord.com/api/webhooks/${secrets.discordHook} 204`, secrets.discordHook],
  ["Slack webhook, workflows", `https://hooks.slack.com/workflows/${secrets.slackHookPath}`, secrets.slackHookPath],
  ["Docker auth", `{"auths":{"ghcr.io":{"auth":"${secrets.dockerAuth}"}}}`, secrets.dockerAuth],
  ["curl -u user:pass", `curl -fsSL -u deploy:${secrets.password} https://nexus.internal/repo`, secrets.password],
  ["curl --user", `curl --user "deploy:${secrets.password}" https://nexus.internal/repo`, secrets.password],
  ["mysql -pPASSWORD", `mysql -h db -u root -p${secrets.password} app < schema.sql`, secrets.password],
  ["generic *_KEY=", `STRIPE_KEY=${secrets.plain} node server.js`, secrets.plain],
  ["generic *SECRET*=", `MY_SECRET_VALUE=${secrets.plain}`, secrets.plain],
  ["generic lower-case *_key=", `deploy_key=${secrets.plain}`, secrets.plain],
  ["token split by a zero-width space", `using ${secrets.ghp.slice(0, 10)}\u200b${secrets.ghp.slice(10)}`, secrets.ghp.slice(10)],
  ["token split by a zero-width joiner", `NPM ${secrets.npm.slice(0, 8)}\u200d${secrets.npm.slice(8)}`, secrets.npm.slice(8)],
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
  // Near-misses that look like the new formats.
  "commit 3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a3f",
  "resolved 3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a3f (HEAD -> main)",
  "integrity: sha512-q9Yh2GEv0WfR8sx3xCkQYhPZqMfQm6zQ5JcDK4ZK0iRq1yC3g0YHm+4n3mFh0z2RS7HnVXAj3cEt9yN8B+Kz0A==",
  "image: ghcr.io/acme/api@sha256:4f1e0b3c2d5a69788aa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607",
  "request id 123e4567-e89b-12d3-a456-426614174000 failed",
  "see https://docs.example.com/guide/getting-started?tab=npm#install for details",
  "Downloading https://registry.npmjs.org/@types/node/-/node-20.19.43.tgz",
  "go: downloading golang.org/x/sys v0.21.0 h1:rF+pYz3DAGSQAxAu1CbC7catZg4ebC4UIeIhKxBZvws=",
  "src/components/ButtonGroup/ButtonGroupItem.tsx:12:4 error TS2322",
  "hf_hub_download(repo_id='gpt2', filename='config.json')",
  "mysql -u root -p -e 'select 1'",
  "curl -u \"$USER:$TOKEN\" https://api.example.com",
  "primary_key=id",
  "@\u200bsomeone mentioned",
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

describe("WordSet (the hint-word test)", () => {
  /** What it stands in for: the alternation of the words as a case-insensitive expression. */
  const alternation = (words: string[]) => new RegExp(words.map((word) => word.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")).join("|"), "i");

  it("answers what `/word|word/i` answers, case folded as the expression folds it", () => {
    const words = ["err", "FAIL", "rate limit", "é", "straße", "ı", "K", "×", "\u200b", "ab", "b", "😀x"];
    const set = new WordSet(words);
    const expected = alternation(words);
    const pieces = ["e", "E", "r", "R", "a", "A", "b", "B", "s", "S", "ss", "ß", "k", "K", "K", "i", "I", "ı", "İ", "ſ", "é", "É", "×", "\u200b", "😀", "\ud83d", "x", " ", "fail", "Rate Limit", "rate  limit"];
    for (const text of randomTexts(pieces, { count: 20000, maxLength: 10, seed: 11 })) expect(set.test(text), JSON.stringify(text)).toBe(expected.test(text));
    for (let unit = 0; unit < 0x10000; unit += 1) {
      const text = `${String.fromCharCode(unit)}rr`;
      expect(set.test(text), `U+${unit.toString(16)}`).toBe(expected.test(text));
    }
  });

  it("finds an empty word in every text, and nothing without words", () => {
    expect(new WordSet(["", "x"]).test("")).toBe(true);
    expect(new WordSet([]).test("anything")).toBe(false);
  });
});
