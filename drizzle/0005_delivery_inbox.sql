ALTER TABLE `deliveries` ADD `lease_until` text;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `next_attempt_at` text;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `note` text;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `headers` text;