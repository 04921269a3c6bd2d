CREATE TABLE `ci_runs` (
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
	`raw_json` text NOT NULL,
	`recorded_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ci_runs_provider_run_uq` ON `ci_runs` (`provider`,`run_id`);--> statement-breakpoint
CREATE INDEX `ci_runs_commit_sha_idx` ON `ci_runs` (`commit_sha`);--> statement-breakpoint
CREATE INDEX `ci_runs_repo_branch_idx` ON `ci_runs` (`repo_slug`,`head_branch`);--> statement-breakpoint
CREATE TABLE `commit_links` (
	`commit_sha` text NOT NULL,
	`repo_slug` text NOT NULL,
	`session_id` text NOT NULL,
	`link_type` text NOT NULL,
	`confidence` real NOT NULL,
	`evidence_json` text NOT NULL,
	`established_ts` text NOT NULL,
	PRIMARY KEY(`commit_sha`, `repo_slug`, `session_id`)
);
--> statement-breakpoint
CREATE INDEX `commit_links_session_idx` ON `commit_links` (`session_id`);--> statement-breakpoint
CREATE INDEX `commit_links_repo_commit_idx` ON `commit_links` (`repo_slug`,`commit_sha`);--> statement-breakpoint
CREATE TABLE `deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`event` text NOT NULL,
	`action` text,
	`repo_slug` text,
	`installation_id` integer,
	`received_at` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`error` text,
	`attempts` integer DEFAULT 1 NOT NULL,
	`claimed_at` text NOT NULL,
	`processed_at` text
);
--> statement-breakpoint
CREATE INDEX `deliveries_received_at_idx` ON `deliveries` (`received_at`);--> statement-breakpoint
CREATE INDEX `deliveries_status_idx` ON `deliveries` (`status`);--> statement-breakpoint
CREATE TABLE `feedback` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`attempt_id` text,
	`metric_name` text NOT NULL,
	`target_type` text NOT NULL,
	`target_id` text NOT NULL,
	`value` text NOT NULL,
	`tags` text DEFAULT '{}' NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`tries` integer DEFAULT 0 NOT NULL,
	`next_try_at` text NOT NULL,
	`last_error` text,
	`gateway_feedback_id` text,
	`created_at` text NOT NULL,
	`sent_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `feedback_target_metric_uq` ON `feedback` (`target_id`,`metric_name`);--> statement-breakpoint
CREATE INDEX `feedback_status_next_idx` ON `feedback` (`status`,`next_try_at`);--> statement-breakpoint
CREATE TABLE `fix_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`repo_slug` text NOT NULL,
	`installation_id` integer,
	`chain_id` text NOT NULL,
	`attempt_number` integer DEFAULT 1 NOT NULL,
	`trigger_provider` text NOT NULL,
	`trigger_run_id` text NOT NULL,
	`workflow_name` text,
	`head_sha` text NOT NULL,
	`head_branch` text,
	`status` text DEFAULT 'queued' NOT NULL,
	`reason` text,
	`failure_class` text,
	`prompt_version` text,
	`inference_id` text,
	`episode_id` text,
	`variant` text,
	`model` text,
	`input_tokens` integer,
	`output_tokens` integer,
	`diff` text,
	`explanation` text,
	`pr_body` text,
	`fix_branch` text,
	`fix_commit_sha` text,
	`pr_number` integer,
	`changed_files` text DEFAULT '[]' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `fix_attempts_chain_idx` ON `fix_attempts` (`chain_id`);--> statement-breakpoint
CREATE INDEX `fix_attempts_repo_sha_idx` ON `fix_attempts` (`repo_slug`,`head_sha`);--> statement-breakpoint
CREATE INDEX `fix_attempts_fix_branch_idx` ON `fix_attempts` (`repo_slug`,`fix_branch`);--> statement-breakpoint
CREATE TABLE `http_cache` (
	`key` text PRIMARY KEY NOT NULL,
	`etag` text,
	`last_modified` text,
	`body` text,
	`fetched_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`dedup_key` text,
	`payload` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer DEFAULT 5 NOT NULL,
	`run_after` text NOT NULL,
	`lease_owner` text,
	`lease_expires_at` text,
	`last_error` text,
	`result` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_dedup_key_uq` ON `jobs` (`dedup_key`);--> statement-breakpoint
CREATE INDEX `jobs_status_run_after_idx` ON `jobs` (`status`,`run_after`);--> statement-breakpoint
CREATE TABLE `pr_outcomes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`provider` text NOT NULL,
	`repo_slug` text NOT NULL,
	`pr_number` integer NOT NULL,
	`title` text DEFAULT '' NOT NULL,
	`state` text NOT NULL,
	`draft` integer DEFAULT false NOT NULL,
	`author` text,
	`head_ref` text,
	`head_sha` text,
	`head_repo_slug` text,
	`is_fork` integer DEFAULT false NOT NULL,
	`base_ref` text,
	`base_sha` text,
	`merge_commit_sha` text,
	`created_at` text,
	`merged_at` text,
	`closed_at` text,
	`reverted_at` text,
	`reverted_by` text,
	`updated_at` text,
	`order_key` text DEFAULT '' NOT NULL,
	`linked_session_ids` text DEFAULT '[]' NOT NULL,
	`downstream_touch_count` integer DEFAULT 0 NOT NULL,
	`last_downstream_touch_ts` text,
	`raw_json` text NOT NULL,
	`recorded_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pr_outcomes_provider_repo_pr_uq` ON `pr_outcomes` (`provider`,`repo_slug`,`pr_number`);--> statement-breakpoint
CREATE INDEX `pr_outcomes_head_sha_idx` ON `pr_outcomes` (`head_sha`);--> statement-breakpoint
CREATE INDEX `pr_outcomes_merge_commit_idx` ON `pr_outcomes` (`merge_commit_sha`);--> statement-breakpoint
CREATE INDEX `pr_outcomes_repo_updated_idx` ON `pr_outcomes` (`repo_slug`,`updated_at`);