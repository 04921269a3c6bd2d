/**
 * How GitLab and Gitea/Forgejo prove a delivery is theirs. GitLab sends the
 * shared secret itself (`X-Gitlab-Token`); Gitea signs the raw body with it
 * (`X-Gitea-Signature`: lowercase hex HMAC-SHA256). Both are compared in
 * constant time, and an absent or empty credential never matches.
 */
import { tokenMatches } from "../http/api.js";
import { hmacSha256HexMatches } from "../http/signature.js";

/** GitLab: the header carries the secret verbatim. */
export function gitlabTokenMatches(presented: string | undefined, secret: string): boolean {
  if (!presented || !secret) return false;
  return tokenMatches(presented, secret);
}

/** Gitea/Forgejo: 64 hex digits, the HMAC-SHA256 of the exact bytes received. */
export function giteaSignatureMatches(presented: string | undefined, body: string | Buffer, secret: string): boolean {
  return hmacSha256HexMatches(presented, body, secret);
}
