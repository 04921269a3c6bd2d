/**
 * The GET pages beside the overview: each reads what it shows from the store
 * and renders it. Query strings are filters and page numbers only; a value
 * that is not one of the known ones is dropped, never echoed into SQL or HTML
 * unescaped.
 */
import type { Store } from "../../store/db.js";
import { countMatchingDeliveries, DELIVERY_STATUSES, deliveryEvents, getDelivery, listDeliveries, type DeliveryStatus } from "../../store/delivery-queries.js";
import {
  attemptFacets,
  attemptFeedback,
  attemptLinks,
  attemptsOfPr,
  attemptsOfRun,
  chainAttempts,
  findPr,
  findRun,
  getAttempt,
  getPr,
  getRun,
  listAttempts,
  listJobsPage,
  listPrs,
  listRuns,
  prRepos,
  runRepos,
  runsOnCommit,
} from "../../store/operator-queries.js";
import { CI_STATUSES, FIX_STATUSES, JOB_STATUSES, PR_STATES, type FixStatus, type JobStatus, type PrState } from "../../store/schema.js";
import {
  frame,
  PAGE_SIZE,
  renderAttemptPage,
  renderAttemptsPage,
  renderDeliveriesPage,
  renderDeliveryPage,
  renderJobsPage,
  renderPrPage,
  renderPrsPage,
  renderRunPage,
  renderRunsPage,
  type Frame,
} from "./pages.js";
import { html } from "./html.js";
import { githubUrl } from "./views.js";

export type PageAnswer = { status: 200 | 404; html: string } | { redirect: string };

/** The frame every page shares, less its title and section. */
export type FrameBase = Omit<Frame, "title" | "section">;

/** `?status=waiting` on the jobs page: queued jobs that carry a reason. */
const JOB_FILTERS = [...JOB_STATUSES, "waiting"] as const;

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

function pageNumber(query: URLSearchParams): number {
  const n = Number(query.get("page"));
  return Number.isInteger(n) && n >= 1 && n <= 100_000 ? n : 1;
}

function paging(n: number) {
  return { limit: PAGE_SIZE, offset: (n - 1) * PAGE_SIZE };
}

/** A repo filter must name a repository the table knows; anything else is ignored. */
function known(value: string | null, values: readonly string[]): string | undefined {
  return value !== null && values.includes(value) ? value : undefined;
}

function notFound(base: FrameBase, section: Frame["section"], what: string): PageAnswer {
  return { status: 404, html: frame({ ...base, title: "not found", section }, html`<section class="panel"><h2>Not found</h2><p class="empty-note">${what}</p></section>`) };
}

export async function operatorPage(store: Store, path: string, query: URLSearchParams, base: FrameBase): Promise<PageAnswer | null> {
  const db = store.db;

  if (path === "/fixloop/attempts") {
    const facets = await attemptFacets(db);
    const variantParam = query.get("variant");
    const filters = {
      repo: known(query.get("repo"), facets.repos),
      status: oneOf<FixStatus>(query.get("status"), FIX_STATUSES),
      variant: known(variantParam, facets.variants),
    };
    const n = pageNumber(query);
    const result = await listAttempts(db, filters, paging(n));
    return {
      status: 200,
      html: renderAttemptsPage({ ...base, title: "attempts", section: "Attempts" }, { filters, facets: { ...facets, statuses: FIX_STATUSES }, page: n, result }),
    };
  }

  const attemptMatch = /^\/fixloop\/attempts\/([A-Za-z0-9-]{1,64})$/.exec(path);
  if (attemptMatch) {
    const attempt = await getAttempt(db, attemptMatch[1]);
    if (!attempt) return notFound(base, "Attempts", `There is no fix attempt ${attemptMatch[1]}.`);
    const [triggerRun, pr, chain, verdicts, feedbackRows, links] = await Promise.all([
      findRun(db, attempt.triggerProvider, attempt.triggerRunId),
      attempt.prNumber === null ? null : findPr(db, attempt.repoSlug, attempt.prNumber),
      chainAttempts(db, attempt.chainId),
      attempt.fixCommitSha ? runsOnCommit(db, attempt.repoSlug, attempt.fixCommitSha) : [],
      attemptFeedback(db, attempt.id),
      attemptLinks(db, attempt.id),
    ]);
    return {
      status: 200,
      html: renderAttemptPage({ ...base, title: `attempt ${attempt.id}`, section: "Attempts" }, { attempt, triggerRun, pr, chain, verdicts, feedback: feedbackRows, links }),
    };
  }

  if (path === "/fixloop/runs") {
    const repos = await runRepos(db);
    const filters = { repo: known(query.get("repo"), repos), status: oneOf(query.get("status"), CI_STATUSES) };
    const n = pageNumber(query);
    const result = await listRuns(db, filters, paging(n));
    return { status: 200, html: renderRunsPage({ ...base, title: "runs", section: "Runs" }, { filters, facets: { repos, statuses: CI_STATUSES }, page: n, result }) };
  }

  const runMatch = /^\/fixloop\/runs\/(\d{1,15})$/.exec(path);
  if (runMatch) {
    const run = await getRun(db, Number(runMatch[1]));
    if (!run) return notFound(base, "Runs", `There is no run ${runMatch[1]} here.`);
    const attempts = await attemptsOfRun(db, run);
    return { status: 200, html: renderRunPage({ ...base, title: `run ${run.runId}`, section: "Runs" }, run, attempts) };
  }

  // A run named by provider and id (from an attempt): its page, or GitHub when fixloop never stored it.
  if (path === "/fixloop/run") {
    const provider = query.get("provider") ?? "";
    const runId = query.get("run") ?? "";
    const run = provider && runId ? await findRun(db, provider, runId) : null;
    if (run) return { redirect: `/fixloop/runs/${run.id}` };
    const repo = query.get("repo") ?? "";
    const outside = /^\d{1,20}$/.test(runId) ? githubUrl(repo, `actions/runs/${runId}`) : null;
    return outside ? { redirect: outside } : notFound(base, "Runs", `fixloop has no record of run ${runId}.`);
  }

  if (path === "/fixloop/prs") {
    const repos = await prRepos(db);
    const filters = { repo: known(query.get("repo"), repos), state: oneOf<PrState>(query.get("state"), PR_STATES) };
    const n = pageNumber(query);
    const result = await listPrs(db, filters, paging(n));
    return { status: 200, html: renderPrsPage({ ...base, title: "pull requests", section: "PRs" }, { filters, facets: { repos, states: PR_STATES }, page: n, result }) };
  }

  const prMatch = /^\/fixloop\/prs\/(\d{1,15})$/.exec(path);
  if (prMatch) {
    const pr = await getPr(db, Number(prMatch[1]));
    if (!pr) return notFound(base, "PRs", `There is no pull request ${prMatch[1]} here.`);
    const [attempts, runs] = await Promise.all([attemptsOfPr(db, pr.repoSlug, pr.prNumber, pr.headRef), pr.headSha ? runsOnCommit(db, pr.repoSlug, pr.headSha) : []]);
    return { status: 200, html: renderPrPage({ ...base, title: `PR #${pr.prNumber}`, section: "PRs" }, pr, attempts, runs) };
  }

  if (path === "/fixloop/pr") {
    const repo = query.get("repo") ?? "";
    const number = Number(query.get("number"));
    if (!Number.isInteger(number) || number <= 0) return notFound(base, "PRs", "That is not a pull request number.");
    const pr = await findPr(db, repo, number);
    if (pr) return { redirect: `/fixloop/prs/${pr.id}` };
    const outside = githubUrl(repo, `pull/${number}`);
    return outside ? { redirect: outside } : notFound(base, "PRs", `fixloop has no record of ${repo}#${number}.`);
  }

  if (path === "/fixloop/jobs") {
    const status = oneOf(query.get("status"), JOB_FILTERS);
    const filters = { status };
    const n = pageNumber(query);
    const statuses: JobStatus[] | undefined = status === undefined ? undefined : status === "waiting" ? ["queued"] : [status];
    const result = await listJobsPage(db, { status: statuses, waitingOnly: status === "waiting" }, paging(n));
    return { status: 200, html: renderJobsPage({ ...base, title: "jobs", section: "Jobs" }, { filters, facets: { statuses: JOB_FILTERS }, page: n, result }) };
  }

  if (path === "/fixloop/deliveries") {
    const events = await deliveryEvents(db);
    const filters = { status: oneOf<DeliveryStatus>(query.get("status"), DELIVERY_STATUSES), event: known(query.get("event"), events) };
    const n = pageNumber(query);
    const [rows, total] = await Promise.all([listDeliveries(db, { ...filters, ...paging(n) }), countMatchingDeliveries(db, filters)]);
    return {
      status: 200,
      html: renderDeliveriesPage({ ...base, title: "deliveries", section: "Deliveries" }, { filters, facets: { statuses: DELIVERY_STATUSES, events }, page: n, result: { rows, total } }),
    };
  }

  const deliveryMatch = /^\/fixloop\/deliveries\/([^/]{1,200})$/.exec(path);
  if (deliveryMatch) {
    const id = decodeURIComponent(deliveryMatch[1]);
    const delivery = await getDelivery(db, id);
    if (!delivery) return notFound(base, "Deliveries", `There is no delivery ${id}.`);
    return { status: 200, html: renderDeliveryPage({ ...base, title: `delivery ${id}`, section: "Deliveries" }, delivery) };
  }

  return null;
}
