/**
 * How GitLab and Gitea/Forgejo prove a delivery is theirs. GitLab sends the
 * shared secret itself (`X-Gitlab-Token`); Gitea signs the raw body with it
 * (`X-Gitea-Signature`: lowercase hex HMAC-SHA256). Both are compared in
 * constant time, and an absent or empty credential never matches.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { tokenMatches } from "../http/api.js";

/** GitLab: the header carries the secret verbatim. */
export function gitlabTokenMatches(presented: string | undefined, secret: string): boolean {
  if (!presented || !secret) return false;
  return tokenMatches(presented, secret);
}

export function giteaSignature(body: string | Buffer, secret: string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Gitea/Forgejo: 64 hex digits, the HMAC-SHA256 of the exact bytes received. */
export function giteaSignatureMatches(presented: string | undefined, body: string | Buffer, secret: string): boolean {
  if (!presented || !secret) return false;
  const hex = presented.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  return timingSafeEqual(Buffer.from(hex, "hex"), Buffer.from(giteaSignature(body, secret), "hex"));
}
