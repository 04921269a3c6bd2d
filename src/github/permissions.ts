/**
 * What fixloop may do with the permissions app.yml asks for, and how a call
 * GitHub refused for lack of one is told apart from other refusals: a missing
 * permission is the installer's configuration to fix, never a reason to go on
 * as if the call had worked.
 */
import type { RepoConfig } from "../config/repo-config.js";
import { httpStatusOf } from "./actions.js";

/** GitHub's message when an installation token lacks the permission a route needs. */
const NOT_ACCESSIBLE = /resource not accessible by integration/i;

export function isPermissionRefusal(error: unknown): boolean {
  return httpStatusOf(error) === 403 && NOT_ACCESSIBLE.test((error as Error)?.message ?? "");
}

export function permissionRefusalReason(what: string, permission: string, error: unknown): string {
  return `GitHub refused ${what} (403: ${(error as Error).message.split("\n")[0].slice(0, 200)}); the app needs the ${permission} permission: accept the updated permissions of the installation`;
}

/**
 * Settings the app cannot honour with the permissions it asks for. Pushing a
 * change under .github/workflows/ needs Workflows: write, which fixloop never
 * asks for, so allow.workflows is refused up front instead of after paying for
 * an inference whose push GitHub would reject.
 */
export function unsupportedConfigReason(config: RepoConfig): string | null {
  if (config.allow.workflows) {
    return "configuration error: allow.workflows: true in .github/fixloop.yml needs the Workflows: write permission, which fixloop does not ask for; remove the setting (workflow fixes need a person)";
  }
  return null;
}
