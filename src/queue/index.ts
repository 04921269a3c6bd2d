/** The job queue: enqueue from handlers, run with the worker, inspect from the CLI and dashboard. */
export * from "./types.js";
export { backoffDelayMs, DEFAULT_BACKOFF } from "./backoff.js";
export {
  claimJobById,
  claimNextJob,
  createLibsqlQueue,
  DEFAULT_MAX_ATTEMPTS,
  getJob,
  jobReason,
  listJobs,
  renewLease,
  retryJob,
  settleJob,
  type JobFilter,
  type JobSettlement,
} from "./libsql.js";
export {
  createWorker,
  DEFAULT_CONCURRENCY,
  DEFAULT_JOB_TIMEOUT_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_POLL_MS,
  defaultWorkerOwner,
} from "./worker.js";
export { runClaimedJob, type ClaimedJobEnd, type RunClaimedJobOptions } from "./run-job.js";
