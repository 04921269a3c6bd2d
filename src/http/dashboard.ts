/**
 * The operator's dashboard under /fixloop, mounted with Probot's `addHandler`:
 * plain server-rendered HTML, no script, no build step. Pages: the overview
 * (/fixloop: health banners from /readyz's checks, tiles, variants, chart),
 * attempts (filtered, paged) and one attempt in full, CI runs, PRs, jobs
 * (retry) and webhook deliveries (replay of a failed one through the inbox).
 *
 * Access: `GET /fixloop/login` shows a form; posting the admin token there sets
 * a signed session cookie (see dashboard/session.ts). Without a valid session
 * a page (GET) redirects to the login form and anything else answers 401.
 * POSTs must carry the session's CSRF token and, when the browser sends
 * them, a same-origin `Origin` and `Sec-Fetch-Site`. With no
 * FIXLOOP_ADMIN_TOKEN the dashboard is off (404).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { pino } from "pino";
import { createInbox, type Inbox } from "../inbox/index.js";
import { dailyOutcomes, totalsOf, variantStats } from "../outcomes/stats.js";
import { createLibsqlQueue, getJob, listJobs, retryJob, type JobQueue } from "../queue/index.js";
import type { ReadinessCheck, ReadinessReport } from "../ops/readiness.js";
import { replayStoredDelivery } from "../replay/stored.js";
import type { Store } from "../store/db.js";
import { listAttempts, queueCounts, waitingJobs } from "../store/operator-queries.js";
import { tokenMatches } from "./api.js";
import { operatorPage, type FrameBase } from "./dashboard/operator-pages.js";
import { renderOverview } from "./dashboard/overview.js";
import { jobRetryable, readinessBanners, type Frame } from "./dashboard/pages.js";
import { createSessionSigner, readCookie, SESSION_COOKIE, sessionCookie, type Session, type SessionSigner } from "./dashboard/session.js";
import { renderLoginPage, renderMessagePage } from "./dashboard/views.js";
import { BodyTooLargeError, readBody, requestUrl } from "./respond.js";
import { createFailureLimiter, holdBack, type FailureLimiter } from "./rate-limit.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Replays from the dashboard log through the server's inbox when it is given; this one is only for a handler built alone. */
const silentLog = pino({ level: "silent" });

export interface DashboardDeps {
  store: Store;
  /** FIXLOOP_ADMIN_TOKEN; the dashboard is off when unset. */
  adminToken?: string | undefined;
  /** Failed logins per client; shared with the admin API so a guesser gets one allowance, not one per door. */
  authLimiter?: FailureLimiter;
  /** Clock for sessions and the chart window; tests inject one. */
  now?: () => Date;
  sessionTtlMs?: number;
  /** Where a retried or replayed fix goes; the libSQL jobs table by default. */
  queue?: JobQueue;
  /** The health banner's source (database, gateway, GitHub). */
  readiness?: ReadinessCheck;
  /** Where a replayed delivery goes; built on the store when not given. */
  inbox?: Inbox;
}

export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

/** Forms are a few short fields; anything bigger is not ours. */
const FORM_LIMIT_BYTES = 8 * 1024;
const FAILED_JOB_STATUSES = ["failed", "dead"] as const;

function sendHtml(res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}): true {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(body), ...SECURITY_HEADERS, ...headers });
  res.end(body);
  return true;
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): true {
  res.writeHead(303, { location, "content-length": 0, ...SECURITY_HEADERS, ...headers });
  res.end();
  return true;
}

function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.split(",")[0].trim() || undefined;
}

/** Behind a proxy that terminates TLS, X-Forwarded-Proto says the browser used https. */
function cameOverHttps(req: IncomingMessage): boolean {
  return firstHeader(req, "x-forwarded-proto")?.toLowerCase() === "https" || Boolean((req.socket as { encrypted?: boolean }).encrypted);
}

/**
 * Why a POST looks cross-site, or null. Sec-Fetch-Site, when sent, is the
 * browser's own verdict (and holds behind proxies that rewrite Host); else an
 * Origin must name this host. Clients that send neither are left to SameSite
 * and the CSRF token.
 */
export function crossSiteReason(req: IncomingMessage): string | null {
  const site = firstHeader(req, "sec-fetch-site");
  if (site !== undefined) return site === "same-origin" ? null : `Sec-Fetch-Site is ${site}`;
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  const host = firstHeader(req, "x-forwarded-host") ?? req.headers.host;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `Origin ${origin} is not a URL`;
  }
  return host && originHost.toLowerCase() === host.toLowerCase() ? null : `Origin ${origin} is not this site`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams((await readBody(req, FORM_LIMIT_BYTES)).toString("utf8"));
}

const REPLAY_OUTCOMES: Record<string, { tone: "ok" | "bad"; text: string }> = {
  processed: { tone: "ok", text: "Replayed: the delivery was processed." },
  ignored: { tone: "ok", text: "Replayed: nothing in it for fixloop (ignored)." },
  duplicate: { tone: "ok", text: "Not replayed: it was already processed, and nothing happens twice." },
  queued: { tone: "ok", text: "Back in the inbox: the processor takes it next." },
  failed: { tone: "bad", text: "Replayed, and it failed again: the error is below." },
};

/** The flash line after a redirect; built from a job id or a known outcome only, never from text in the URL. */
function flashOf(query: URLSearchParams): Frame["flash"] {
  const id = (name: string) => {
    const value = query.get(name);
    return value !== null && /^\d{1,15}$/.test(value) ? value : null;
  };
  const retried = id("retried");
  if (retried) return { tone: "ok", text: `Job ${retried} is queued again with fresh attempts.` };
  const refused = id("retry_refused");
  if (refused) return { tone: "bad", text: `Job ${refused} was not retried: it is not failed, dead or waiting (any more).` };
  const replayed = query.get("replayed");
  if (replayed !== null && Object.hasOwn(REPLAY_OUTCOMES, replayed)) return REPLAY_OUTCOMES[replayed];
  return null;
}

/** Where a retry form came from, so the answer lands there; only these two. */
function backTo(form: URLSearchParams): string {
  return form.get("back") === "jobs" ? "/fixloop/jobs" : "/fixloop";
}

export function createDashboardHandler(deps: DashboardDeps): Handler {
  const now = deps.now ?? (() => new Date());
  const signer: SessionSigner | null = deps.adminToken ? createSessionSigner(deps.adminToken, { ttlMs: deps.sessionTtlMs }) : null;
  const limiter = deps.authLimiter ?? createFailureLimiter();

  const setSession = (req: IncomingMessage, value: string, maxAgeSeconds: number) =>
    sessionCookie(value, { maxAgeSeconds, secure: cameOverHttps(req) });

  /** A page asked for without a session goes to the login form; anything else is refused. */
  const unauthorized = (req: IncomingMessage, res: ServerResponse) =>
    req.method === "GET" || req.method === "HEAD"
      ? redirect(res, "/fixloop/login")
      : sendHtml(res, 401, renderMessagePage("Log in first", "This needs a dashboard session.", { loginLink: true }));

  const inbox = deps.inbox ?? createInbox({ store: deps.store, log: silentLog, queue: deps.queue ?? createLibsqlQueue(deps.store) });

  async function banners(): Promise<Frame["banners"]> {
    let report: ReadinessReport | null = null;
    try {
      report = deps.readiness ? await deps.readiness.report() : null;
    } catch {
      report = null;
    }
    return readinessBanners(report);
  }

  async function frameBase(req: IncomingMessage, session: Session, signer: SessionSigner): Promise<FrameBase> {
    return { generatedAt: now(), csrfToken: signer.csrfToken(session), flash: flashOf(requestUrl(req).searchParams), banners: await banners() };
  }

  const methodNotAllowed = (res: ServerResponse, allow: string) =>
    sendHtml(res, 405, renderMessagePage("Method not allowed", `Use ${allow}.`), { allow });

  async function login(req: IncomingMessage, res: ServerResponse, signer: SessionSigner): Promise<true> {
    const query = requestUrl(req).searchParams;
    if (req.method === "GET") return sendHtml(res, 200, renderLoginPage({ loggedOut: query.has("logged_out") }));
    if (req.method !== "POST") return methodNotAllowed(res, "GET, POST");
    const crossSite = crossSiteReason(req);
    if (crossSite) return sendHtml(res, 403, renderMessagePage("Refused", `Cross-site login refused (${crossSite}).`));
    const gate = holdBack(limiter, req, (wait) =>
      sendHtml(res, 429, renderLoginPage({ error: `Too many wrong tokens from this address: try again in ${wait} s.` }), { "retry-after": String(wait) }),
    );
    if (gate === true) return true;
    const token = (await readForm(req)).get("token") ?? "";
    if (!deps.adminToken || token === "" || !tokenMatches(token, deps.adminToken)) {
      gate();
      return sendHtml(res, 401, renderLoginPage({ error: "That token is not right." }));
    }
    const { value } = signer.issue(now());
    return redirect(res, "/fixloop", { "set-cookie": setSession(req, value, Math.floor(signer.ttlMs / 1000)) });
  }

  /** A POST from a page of this session: same site, and the form's CSRF token matches. */
  async function checkedForm(req: IncomingMessage, res: ServerResponse, session: Session, signer: SessionSigner): Promise<URLSearchParams | null> {
    const crossSite = crossSiteReason(req);
    if (crossSite) {
      sendHtml(res, 403, renderMessagePage("Refused", `Cross-site request refused (${crossSite}).`));
      return null;
    }
    const form = await readForm(req);
    if (!signer.csrfMatches(session, form.get("csrf"))) {
      sendHtml(res, 403, renderMessagePage("Refused", "The form's CSRF token is missing or stale: reload the dashboard and try again."));
      return null;
    }
    return form;
  }

  async function dashboard(req: IncomingMessage, res: ServerResponse, session: Session, signer: SessionSigner): Promise<true> {
    const at = now();
    const [base, variants, daily, attempts, failedJobs, counts, waiting] = await Promise.all([
      frameBase(req, session, signer),
      variantStats(deps.store.db),
      dailyOutcomes(deps.store.db, { days: 30, now: at }),
      listAttempts(deps.store.db, {}, { limit: 10, offset: 0 }),
      listJobs(deps.store, { status: [...FAILED_JOB_STATUSES], limit: 20 }),
      queueCounts(deps.store.db),
      waitingJobs(deps.store.db, 1000),
    ]);
    return sendHtml(
      res,
      200,
      renderOverview(base, { totals: totalsOf(variants), variants, daily, attempts: attempts.rows, failedJobs, counts, waitingJobs: waiting.length }),
    );
  }

  async function retry(req: IncomingMessage, res: ServerResponse, session: Session, signer: SessionSigner, id: number): Promise<true> {
    const form = await checkedForm(req, res, session, signer);
    if (!form) return true;
    const job = await getJob(deps.store, id);
    if (!job) return sendHtml(res, 404, renderMessagePage("No such job", `There is no job ${id}.`));
    const retried = jobRetryable(job) ? await retryJob(deps.store, id, now()) : null;
    return redirect(res, `${backTo(form)}?${retried ? "retried" : "retry_refused"}=${id}`);
  }

  /** A failed delivery back through the inbox, processed now (src/replay/stored.ts). */
  async function replay(req: IncomingMessage, res: ServerResponse, session: Session, signer: SessionSigner, id: string): Promise<true> {
    if (!(await checkedForm(req, res, session, signer))) return true;
    const replayed = await replayStoredDelivery({ store: deps.store, inbox }, id);
    if (!replayed.found) return sendHtml(res, 404, renderMessagePage("No such delivery", `There is no delivery ${id}.`));
    const outcome = replayed.answer.status === "retry" ? "failed" : replayed.answer.status;
    return redirect(res, `/fixloop/deliveries/${encodeURIComponent(id)}?replayed=${outcome}`);
  }

  async function logout(req: IncomingMessage, res: ServerResponse, session: Session, signer: SessionSigner): Promise<true> {
    if (!(await checkedForm(req, res, session, signer))) return true;
    signer.revoke(session, now());
    return redirect(res, "/fixloop/login?logged_out=1", { "set-cookie": setSession(req, "", 0) });
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string, signer: SessionSigner): Promise<true> {
    if (path === "/fixloop/login") return login(req, res, signer);
    const session = signer.verify(readCookie(req.headers.cookie, SESSION_COOKIE), now());
    if (!session) return unauthorized(req, res);
    if (path === "/fixloop" || path === "/fixloop/") {
      return req.method === "GET" ? dashboard(req, res, session, signer) : methodNotAllowed(res, "GET");
    }
    if (path === "/fixloop/logout") return req.method === "POST" ? logout(req, res, session, signer) : methodNotAllowed(res, "POST");
    const retryMatch = /^\/fixloop\/jobs\/(\d{1,15})\/retry$/.exec(path);
    if (retryMatch) return req.method === "POST" ? retry(req, res, session, signer, Number(retryMatch[1])) : methodNotAllowed(res, "POST");
    const replayMatch = /^\/fixloop\/deliveries\/([^/]{1,200})\/replay$/.exec(path);
    if (replayMatch) return req.method === "POST" ? replay(req, res, session, signer, decodeURIComponent(replayMatch[1])) : methodNotAllowed(res, "POST");
    if (req.method === "GET" || req.method === "HEAD") {
      const answer = await operatorPage(deps.store, path, requestUrl(req).searchParams, await frameBase(req, session, signer));
      if (answer && "redirect" in answer) return redirect(res, answer.redirect);
      if (answer) return sendHtml(res, answer.status, answer.html);
    } else if (await operatorPage(deps.store, path, new URLSearchParams(), await frameBase(req, session, signer))) {
      return methodNotAllowed(res, "GET");
    }
    return sendHtml(res, 404, renderMessagePage("Not found", `Nothing at ${path}.`));
  }

  return async (req, res) => {
    const path = requestUrl(req).pathname;
    if (path !== "/fixloop" && !path.startsWith("/fixloop/")) return false;
    if (!signer) {
      return sendHtml(res, 404, renderMessagePage("Dashboard off", "The fixloop dashboard is off: set FIXLOOP_ADMIN_TOKEN to enable it."));
    }
    try {
      return await route(req, res, path, signer);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendHtml(res, 413, renderMessagePage("Too large", "That form is larger than any this dashboard sends."));
      throw error;
    }
  };
}
