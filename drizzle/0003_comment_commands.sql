CREATE TABLE `branch_heads` (
	`repo_slug` text NOT NULL,
	`branch` text NOT NULL,
	`sha` text NOT NULL,
	`before_sha` text,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`repo_slug`, `branch`)
);
--> statement-breakpoint
CREATE TABLE `comment_commands` (
	`comment_id` integer PRIMARY KEY NOT NULL,
	`repo_slug` text NOT NULL,
	`installation_id` integer,
	`pr_number` integer NOT NULL,
	`author` text NOT NULL,
	`command` text NOT NULL,
	`hint` text,
	`hint_chars` integer DEFAULT 0 NOT NULL,
	`delivery_id` text NOT NULL,
	`status` text DEFAULT 'received' NOT NULL,
	`outcome` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `comment_commands_repo_pr_idx` ON `comment_commands` (`repo_slug`,`pr_number`);--> statement-breakpoint
CREATE TABLE `fix_stops` (
	`repo_slug` text NOT NULL,
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`stopped_by` text NOT NULL,
	`comment_id` integer,
	`created_at` text NOT NULL,
	`lifted_at` text,
	PRIMARY KEY(`repo_slug`, `scope`, `key`)
);
--> statement-breakpoint
ALTER TABLE `fix_attempts` ADD `requested_by` text;--> statement-breakpoint
ALTER TABLE `fix_attempts` ADD `hint` text;--> statement-breakpoint
ALTER TABLE `fix_attempts` ADD `instruction_files` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `fix_attempts` ADD `failure_summary` text;