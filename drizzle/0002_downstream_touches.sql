CREATE TABLE `downstream_touches` (
	`attempt_id` text NOT NULL,
	`commit_sha` text NOT NULL,
	`repo_slug` text NOT NULL,
	`pr_number` integer NOT NULL,
	`committed_at` text NOT NULL,
	`files` text NOT NULL,
	`recorded_at` text NOT NULL,
	PRIMARY KEY(`attempt_id`, `commit_sha`)
);
--> statement-breakpoint
CREATE INDEX `downstream_touches_repo_pr_idx` ON `downstream_touches` (`repo_slug`,`pr_number`);