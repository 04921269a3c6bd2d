CREATE TABLE `delivery_bodies` (
	`id` text PRIMARY KEY NOT NULL,
	`body` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `delivery_records` (
	`id` text PRIMARY KEY NOT NULL,
	`event` text NOT NULL,
	`action` text,
	`repo_slug` text,
	`installation_id` integer,
	`received_at` text NOT NULL,
	`status` text NOT NULL,
	`error` text,
	`attempts` integer DEFAULT 1 NOT NULL,
	`claimed_at` text NOT NULL,
	`processed_at` text,
	`lease_until` text,
	`next_attempt_at` text,
	`note` text,
	`headers` text
);
--> statement-breakpoint
CREATE INDEX `delivery_records_received_at_idx` ON `delivery_records` (`received_at`);--> statement-breakpoint
CREATE INDEX `delivery_records_status_idx` ON `delivery_records` (`status`);--> statement-breakpoint
INSERT INTO `delivery_records` (`id`, `event`, `action`, `repo_slug`, `installation_id`, `received_at`, `status`, `error`, `attempts`, `claimed_at`, `processed_at`, `lease_until`, `next_attempt_at`, `note`, `headers`) SELECT `id`, `event`, `action`, `repo_slug`, `installation_id`, `received_at`, `status`, `error`, `attempts`, `claimed_at`, `processed_at`, `lease_until`, `next_attempt_at`, `note`, `headers` FROM `deliveries` ORDER BY rowid;--> statement-breakpoint
INSERT INTO `delivery_bodies` (`id`, `body`) SELECT `id`, `payload` FROM `deliveries` ORDER BY rowid;--> statement-breakpoint
DROP TABLE `deliveries`;--> statement-breakpoint
CREATE VIEW `deliveries` AS SELECT r.`id`, r.`event`, r.`action`, r.`repo_slug`, r.`installation_id`, r.`received_at`, b.`body` AS `payload`, r.`status`, r.`error`, r.`attempts`, r.`claimed_at`, r.`processed_at`, r.`lease_until`, r.`next_attempt_at`, r.`note`, r.`headers` FROM `delivery_records` r JOIN `delivery_bodies` b ON b.`id` = r.`id`;--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_ci_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`provider` text NOT NULL,
	`repo_slug` text NOT NULL,
	`run_id` text NOT NULL,
	`commit_sha` text NOT NULL,
	`head_branch` text,
	`event` text,
	`status` text NOT NULL,
	`raw_status` text,
	`conclusion` text,
	`workflow_name` text,
	`workflow_id` integer,
	`app_slug` text,
	`run_attempt` integer DEFAULT 1 NOT NULL,
	`html_url` text,
	`pr_numbers` text DEFAULT '[]' NOT NULL,
	`started_ts` text,
	`completed_ts` text,
	`updated_at` text,
	`order_key` text DEFAULT '' NOT NULL,
	`raw_json` text,
	`raw_delivery_id` text,
	`raw_path` text,
	`recorded_at` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_ci_runs`("id", "provider", "repo_slug", "run_id", "commit_sha", "head_branch", "event", "status", "raw_status", "conclusion", "workflow_name", "workflow_id", "app_slug", "run_attempt", "html_url", "pr_numbers", "started_ts", "completed_ts", "updated_at", "order_key", "raw_json", "recorded_at") SELECT "id", "provider", "repo_slug", "run_id", "commit_sha", "head_branch", "event", "status", "raw_status", "conclusion", "workflow_name", "workflow_id", "app_slug", "run_attempt", "html_url", "pr_numbers", "started_ts", "completed_ts", "updated_at", "order_key", "raw_json", "recorded_at" FROM `ci_runs`;--> statement-breakpoint
DROP TABLE `ci_runs`;--> statement-breakpoint
ALTER TABLE `__new_ci_runs` RENAME TO `ci_runs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `ci_runs_provider_run_uq` ON `ci_runs` (`provider`,`run_id`);--> statement-breakpoint
CREATE INDEX `ci_runs_commit_sha_idx` ON `ci_runs` (`commit_sha`);--> statement-breakpoint
CREATE INDEX `ci_runs_repo_branch_idx` ON `ci_runs` (`repo_slug`,`head_branch`);