/**
 * Dashboard sessions without server state: the cookie carries an expiry and a
 * random session id, signed with HMAC-SHA256. The key is derived from the admin
 * token and a random salt drawn when the process starts, so the cookie never
 * holds the token, changing the token or restarting the server ends every
 * session, and a leaked cookie dies with its expiry. Logout remembers the
 * session id until it would have expired anyway.
 *
 * The CSRF token of a session is another HMAC (of the session id, under a
 * different label): forms carry it, and only a page rendered for that session
 * can know it.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "fixloop_session";
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface Session {
  id: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface SessionSigner {
  /** A new session and the cookie value that stands for it. */
  issue(now: Date): { session: Session; value: string };
  /** The session a cookie value stands for, or null when it is forged, expired or logged out. */
  verify(value: string | undefined, now: Date): Session | null;
  csrfToken(session: Session): string;
  csrfMatches(session: Session, presented: string | null | undefined): boolean;
  /** Ends a session before its expiry. */
  revoke(session: Session, now: Date): void;
  readonly ttlMs: number;
}

function mac(key: Buffer, label: string, data: string): Buffer {
  return createHmac("sha256", key).update(`${label}\0${data}`).digest();
}

function sameBytes(presented: string, expected: Buffer): boolean {
  const bytes = Buffer.from(presented, "base64url");
  // base64url decoding is lenient; compare the canonical form so one token has one spelling.
  return bytes.length === expected.length && bytes.toString("base64url") === presented && timingSafeEqual(bytes, expected);
}

export function createSessionSigner(adminToken: string, options: { ttlMs?: number; salt?: Buffer } = {}): SessionSigner {
  const salt = options.salt ?? randomBytes(32);
  const key = createHmac("sha256", salt).update(`fixloop dashboard session key\0${adminToken}`).digest();
  const ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
  const revoked = new Map<string, number>();

  const forget = (now: number) => {
    for (const [id, expiresAt] of revoked) if (expiresAt <= now) revoked.delete(id);
  };

  return {
    ttlMs,
    issue(now) {
      const session = { id: randomBytes(18).toString("base64url"), expiresAt: now.getTime() + ttlMs };
      const body = `v1.${session.expiresAt}.${session.id}`;
      return { session, value: `${body}.${mac(key, "session", body).toString("base64url")}` };
    },
    verify(value, now) {
      const match = value ? /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
      if (!match) return null;
      const [, expires, id, signature] = match;
      if (!sameBytes(signature, mac(key, "session", `v1.${expires}.${id}`))) return null;
      const session = { id, expiresAt: Number(expires) };
      if (session.expiresAt <= now.getTime()) return null;
      forget(now.getTime());
      return revoked.has(id) ? null : session;
    },
    csrfToken(session) {
      return mac(key, "csrf", session.id).toString("base64url");
    },
    csrfMatches(session, presented) {
      return typeof presented === "string" && sameBytes(presented, mac(key, "csrf", session.id));
    },
    revoke(session, now) {
      forget(now.getTime());
      revoked.set(session.id, session.expiresAt);
    },
  };
}

/** The value of one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  maxAgeSeconds: number;
  secure: boolean;
}

/** A Set-Cookie value for the dashboard: HttpOnly, SameSite=Strict, only under /fixloop. */
export function sessionCookie(value: string, options: CookieOptions): string {
  const parts = [`${SESSION_COOKIE}=${value}`, "Path=/fixloop", `Max-Age=${options.maxAgeSeconds}`, "HttpOnly", "SameSite=Strict"];
  if (options.secure) parts.push("Secure");
  return parts.join("; ");
}
