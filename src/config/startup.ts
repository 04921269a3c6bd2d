/**
 * Settings fixloop refuses to start without, checked by every entry point
 * before it serves anything: a webhook server with no (or a guessable) secret
 * accepts deliveries signed with Probot's fallback key "development", and a
 * short admin token falls to guessing.
 */

/** Both secrets must be at least this long; `openssl rand -hex 32` gives 64. */
export const MIN_SECRET_LENGTH = 16;

export class StartupConfigError extends Error {
  override name = "StartupConfigError";
}

/** Why WEBHOOK_SECRET cannot serve webhooks, or null. NODE_ENV=development allows a weak one, for local play only. */
export function webhookSecretProblem(env: NodeJS.ProcessEnv): string | null {
  if (env.NODE_ENV === "development") return null;
  const secret = env.WEBHOOK_SECRET ?? "";
  if (secret === "") return "WEBHOOK_SECRET is not set: without it anyone could deliver webhooks (set the app's webhook secret, or NODE_ENV=development for local play)";
  if (secret.length < MIN_SECRET_LENGTH) return `WEBHOOK_SECRET is ${secret.length} characters; it must be at least ${MIN_SECRET_LENGTH} (e.g. openssl rand -hex 32)`;
  return null;
}

/** Why FIXLOOP_ADMIN_TOKEN is unusable, or null; unset is fine (the admin API and dashboard are then off). */
export function adminTokenProblem(token: string | undefined): string | null {
  if (token === undefined || token === "") return null;
  if (token.length < MIN_SECRET_LENGTH) return `FIXLOOP_ADMIN_TOKEN is ${token.length} characters; it must be at least ${MIN_SECRET_LENGTH} (e.g. openssl rand -hex 32), or unset to turn the admin API and dashboard off`;
  return null;
}

/** Throws one readable line naming the first problem; entry points call it before building anything. */
export function assertStartable(env: NodeJS.ProcessEnv, options: { webhooks: boolean }): void {
  const problem = (options.webhooks ? webhookSecretProblem(env) : null) ?? adminTokenProblem(env.FIXLOOP_ADMIN_TOKEN);
  if (problem) throw new StartupConfigError(`fixloop cannot start: ${problem}`);
}
