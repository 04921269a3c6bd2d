/**
 * Secrets read at run time from SSM Parameter Store, through the real AWS SDK
 * client against nock: the `GetParameters` request as AWS's JSON 1.1 protocol
 * sends it (target header, body), the TTL cache, the re-read after it, and
 * what a failed re-read does.
 */
import { SSMClient } from "@aws-sdk/client-ssm";
import nock from "nock";
import { describe, expect, test } from "vitest";
import { createSecretSource, secretSourceFromEnv } from "../src/lambda/secrets.js";

const ENDPOINT = "https://ssm.eu-west-1.amazonaws.com";

function ssm() {
  return new SSMClient({ region: "eu-west-1", credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" }, maxAttempts: 1 });
}

function parameter(name: string, value: string, version = 1) {
  return { Name: name, Type: "SecureString", Value: value, Version: version, ARN: `arn:aws:ssm:eu-west-1:123456789012:parameter${name}`, DataType: "text" };
}

/** One GetParameters call: checks the target, the content type and the body, answers with the given parameters. */
function expectGetParameters(names: string[], answer: ReturnType<typeof parameter>[], invalid: string[] = []) {
  return nock(ENDPOINT, { reqheaders: { "x-amz-target": "AmazonSSM.GetParameters", "content-type": "application/x-amz-json-1.1" } })
    .post("/", (body) => {
      expect(body).toEqual({ Names: names, WithDecryption: true });
      return true;
    })
    .reply(200, { Parameters: answer, InvalidParameters: invalid }, { "content-type": "application/x-amz-json-1.1" });
}

describe("secrets from SSM at run time", () => {
  test("read once, cached for the TTL, read again after it: a rotated value is in use within one TTL", async () => {
    let clock = 0;
    const source = createSecretSource({
      ssm: ssm(),
      parameters: { WEBHOOK_SECRET: "/fixloop/prod/WEBHOOK_SECRET", DATABASE_AUTH_TOKEN: "/fixloop/prod/DATABASE_AUTH_TOKEN" },
      ttlMs: 300_000,
      now: () => clock,
    });
    const names = ["/fixloop/prod/WEBHOOK_SECRET", "/fixloop/prod/DATABASE_AUTH_TOKEN"];
    expectGetParameters(names, [parameter(names[0], "old-webhook-secret-0123"), parameter(names[1], "token-1")]);
    expect(await source.get()).toEqual({ WEBHOOK_SECRET: "old-webhook-secret-0123", DATABASE_AUTH_TOKEN: "token-1" });
    clock = 299_999;
    expect(await source.get()).toEqual({ WEBHOOK_SECRET: "old-webhook-secret-0123", DATABASE_AUTH_TOKEN: "token-1" }); // no request: nock would fail

    expectGetParameters(names, [parameter(names[0], "new-webhook-secret-4567", 2), parameter(names[1], "token-1")]);
    clock = 300_000;
    expect(await source.get()).toEqual({ WEBHOOK_SECRET: "new-webhook-secret-4567", DATABASE_AUTH_TOKEN: "token-1" });
  });

  test("a parameter that does not exist is left out (an optional route stays off); concurrent reads share one request", async () => {
    const source = createSecretSource({ ssm: ssm(), parameters: { GITLAB_WEBHOOK_TOKEN: "/fixloop/prod/GITLAB_WEBHOOK_TOKEN", WEBHOOK_SECRET: "/fixloop/prod/WEBHOOK_SECRET" } });
    expectGetParameters(["/fixloop/prod/GITLAB_WEBHOOK_TOKEN", "/fixloop/prod/WEBHOOK_SECRET"], [parameter("/fixloop/prod/WEBHOOK_SECRET", "s")], ["/fixloop/prod/GITLAB_WEBHOOK_TOKEN"]);
    const [a, b] = await Promise.all([source.get(), source.get()]);
    expect(a).toEqual({ WEBHOOK_SECRET: "s" });
    expect(b).toBe(a);
  });

  test("a failed re-read keeps the values in hand; a failed first read fails", async () => {
    let clock = 0;
    const warnings: unknown[] = [];
    const source = createSecretSource({ ssm: ssm(), parameters: { PRIVATE_KEY: "/fixloop/prod/PRIVATE_KEY" }, ttlMs: 1_000, now: () => clock, log: { warn: (o: unknown) => warnings.push(o) } });
    const throttled = () =>
      nock(ENDPOINT).post("/").reply(400, { __type: "ThrottlingException", message: "Rate exceeded" }, { "content-type": "application/x-amz-json-1.1" });

    throttled();
    await expect(source.get()).rejects.toThrow(/Rate exceeded/);
    expectGetParameters(["/fixloop/prod/PRIVATE_KEY"], [parameter("/fixloop/prod/PRIVATE_KEY", "key-v1")]);
    expect(await source.get()).toEqual({ PRIVATE_KEY: "key-v1" });
    clock = 5_000;
    throttled();
    expect(await source.get()).toEqual({ PRIVATE_KEY: "key-v1" });
    expect(warnings).toHaveLength(1);
  });

  test("more than ten names are read ten at a time (GetParameters' limit)", async () => {
    const parameters = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`S${i}`, `/p/S${i}`]));
    const names = Object.values(parameters);
    expectGetParameters(names.slice(0, 10), names.slice(0, 10).map((n) => parameter(n, n)));
    expectGetParameters(names.slice(10), names.slice(10).map((n) => parameter(n, n)));
    const values = await createSecretSource({ ssm: ssm(), parameters }).get();
    expect(Object.keys(values)).toHaveLength(12);
  });

  test("from the environment: FIXLOOP_SECRETS under FIXLOOP_SECRETS_SSM_PREFIX; none configured means none read", async () => {
    expect(secretSourceFromEnv({})).toBeNull();
    expect(() => secretSourceFromEnv({ FIXLOOP_SECRETS: "WEBHOOK_SECRET" })).toThrow(/FIXLOOP_SECRETS_SSM_PREFIX/);
    expect(() => secretSourceFromEnv({ FIXLOOP_SECRETS: "A", FIXLOOP_SECRETS_SSM_PREFIX: "/p/", FIXLOOP_SECRETS_TTL_SECONDS: "soon" })).toThrow(/TTL/);
    const source = secretSourceFromEnv({ FIXLOOP_SECRETS: "WEBHOOK_SECRET, DATABASE_AUTH_TOKEN", FIXLOOP_SECRETS_SSM_PREFIX: "/fixloop/prod/" }, { ssm: ssm() })!;
    expectGetParameters(["/fixloop/prod/WEBHOOK_SECRET", "/fixloop/prod/DATABASE_AUTH_TOKEN"], [parameter("/fixloop/prod/WEBHOOK_SECRET", "w")]);
    expect(await source.get()).toEqual({ WEBHOOK_SECRET: "w" });
  });
});
