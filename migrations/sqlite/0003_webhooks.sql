-- MessageAdded webhooks: an outbox of events, grouped into deliveries.

ALTER TABLE integrations ADD COLUMN webhook_url TEXT;

-- One delivery is one POST of up to N events of one enterprise and integration.
CREATE TABLE webhook_deliveries (
    id              BLOB PRIMARY KEY NOT NULL,
    integration_id  BLOB NOT NULL REFERENCES integrations (id),
    enterprise_id   BLOB NOT NULL REFERENCES enterprises (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    leased_until_ms INTEGER,
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    finished_ms     INTEGER
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);

-- Written in the transaction of its message; delivery_id is set when the
-- worker puts it into a delivery, which it does only when the receiver has room.
CREATE TABLE webhook_events (
    seq            INTEGER PRIMARY KEY,
    message_id     BLOB NOT NULL REFERENCES messages (id),
    integration_id BLOB NOT NULL,
    enterprise_id  BLOB NOT NULL,
    created_ms     INTEGER NOT NULL,
    delivery_id    BLOB REFERENCES webhook_deliveries (id)
);

CREATE INDEX webhook_events_unplanned ON webhook_events (integration_id, seq)
    WHERE delivery_id IS NULL;
CREATE INDEX webhook_events_by_delivery ON webhook_events (delivery_id, seq);
