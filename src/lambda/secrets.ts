/**
 * Secrets read at run time, not deploy time: each function's environment
 * names the SSM SecureString parameters it may read (FIXLOOP_SECRETS, under
 * FIXLOOP_SECRETS_SSM_PREFIX), and its IAM role allows exactly those. Values
 * are cached for a TTL (FIXLOOP_SECRETS_TTL_SECONDS, default 300) and read
 * again after it, so a rotated or revoked secret is in use everywhere within
 * one TTL, without a deploy. A failed re-read keeps the values in hand (SSM
 * throttling must not take the webhook down); a failed first read fails the
 * invocation.
 */
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { Logger } from "../queue/types.js";

export const DEFAULT_SECRETS_TTL_MS = 5 * 60_000;
/** SSM's GetParameters takes at most 10 names per call. */
const NAMES_PER_CALL = 10;

export interface SecretSourceOptions {
  ssm: SSMClient;
  /** Environment variable name → SSM parameter name. */
  parameters: Record<string, string>;
  ttlMs?: number;
  now?: () => number;
  log?: Pick<Logger, "warn">;
}

export interface SecretSource {
  /** The values (environment variable name → value); a parameter that does not exist is left out. */
  get(): Promise<Record<string, string>>;
}

export function createSecretSource(options: SecretSourceOptions): SecretSource {
  const ttlMs = options.ttlMs ?? DEFAULT_SECRETS_TTL_MS;
  const now = options.now ?? Date.now;
  const byParameter = new Map(Object.entries(options.parameters).map(([envName, parameter]) => [parameter, envName]));
  let cached: { values: Record<string, string>; readAt: number } | null = null;
  let reading: Promise<Record<string, string>> | null = null;

  async function read(): Promise<Record<string, string>> {
    const names = [...byParameter.keys()];
    const values: Record<string, string> = {};
    for (let i = 0; i < names.length; i += NAMES_PER_CALL) {
      const answer = await options.ssm.send(new GetParametersCommand({ Names: names.slice(i, i + NAMES_PER_CALL), WithDecryption: true }));
      for (const parameter of answer.Parameters ?? []) {
        const envName = parameter.Name ? byParameter.get(parameter.Name) : undefined;
        if (envName && parameter.Value !== undefined) values[envName] = parameter.Value;
      }
    }
    return values;
  }

  return {
    async get() {
      if (cached && now() - cached.readAt < ttlMs) return cached.values;
      reading ??= read()
        .then((values) => {
          cached = { values, readAt: now() };
          return values;
        })
        .catch((error: unknown) => {
          if (!cached) throw error;
          options.log?.warn({ err: error }, "could not read the secrets again; using the values read before");
          return cached.values;
        })
        .finally(() => (reading = null));
      return reading;
    },
  };
}

/**
 * The source an environment asks for: FIXLOOP_SECRETS="WEBHOOK_SECRET,PRIVATE_KEY,…" read from
 * `${FIXLOOP_SECRETS_SSM_PREFIX}${name}`; null when FIXLOOP_SECRETS is unset (values come from the
 * environment itself: local runs, tests).
 */
export function secretSourceFromEnv(env: NodeJS.ProcessEnv, options: { ssm?: SSMClient; log?: Pick<Logger, "warn"> } = {}): SecretSource | null {
  const names = (env.FIXLOOP_SECRETS ?? "").split(",").map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) return null;
  const prefix = env.FIXLOOP_SECRETS_SSM_PREFIX;
  if (!prefix) throw new Error("FIXLOOP_SECRETS is set but FIXLOOP_SECRETS_SSM_PREFIX is not (e.g. /fixloop/prod/)");
  const ttlSeconds = env.FIXLOOP_SECRETS_TTL_SECONDS ? Number(env.FIXLOOP_SECRETS_TTL_SECONDS) : DEFAULT_SECRETS_TTL_MS / 1000;
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) throw new Error(`FIXLOOP_SECRETS_TTL_SECONDS must be a number of seconds ≥ 0, got "${env.FIXLOOP_SECRETS_TTL_SECONDS}"`);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  return createSecretSource({
    ssm: options.ssm ?? new SSMClient(region ? { region } : {}),
    parameters: Object.fromEntries(names.map((name) => [name, `${prefix}${name}`])),
    ttlMs: ttlSeconds * 1000,
    log: options.log,
  });
}
