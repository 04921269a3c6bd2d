DROP INDEX `feedback_target_metric_uq`;--> statement-breakpoint
ALTER TABLE `feedback` ADD `dedup_key` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `feedback` ADD `claimed_until` text;--> statement-breakpoint
ALTER TABLE `feedback` ADD `target_missing_since` text;--> statement-breakpoint
CREATE UNIQUE INDEX `feedback_target_metric_dedup_uq` ON `feedback` (`target_id`,`metric_name`,`dedup_key`);