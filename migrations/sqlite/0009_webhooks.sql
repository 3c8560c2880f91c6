-- Webhooks a receiver can trust (SPEC 11): an integration's signing secrets
-- (the one before a rotation keeps signing until previous_until_ms), its
-- deliveries held by webhooks/pause, the exact body of each attempt, and the
-- webhook faults (SPEC 16.5).

ALTER TABLE integrations ADD COLUMN webhooks_paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE integrations ADD COLUMN signing_secret BLOB;
ALTER TABLE integrations ADD COLUMN previous_secret BLOB;
ALTER TABLE integrations ADD COLUMN previous_until_ms INTEGER;

ALTER TABLE webhook_attempts ADD COLUMN body TEXT;

-- Set when a Delay fault held the delivery, so that it is held once.
ALTER TABLE webhook_deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0;

ALTER TABLE faults ADD COLUMN webhook TEXT CHECK (webhook IN ('Duplicate', 'Delay', 'Reorder'));
ALTER TABLE faults ADD COLUMN delay_seconds INTEGER;
