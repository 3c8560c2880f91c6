-- Faults the operator adds (SPEC 16.5), in the order they were added, and every
-- attempt of each webhook delivery (SPEC 16.6). A change of the faults is
-- announced on the channel switchboard_faults.

CREATE TABLE faults (
    seq                 BIGSERIAL PRIMARY KEY,
    id                  UUID NOT NULL UNIQUE,
    operation           TEXT NOT NULL,
    integration_id      UUID,
    status              INTEGER,
    message             TEXT,
    retry_after_seconds INTEGER,
    delay_ms            INTEGER NOT NULL,
    probability         DOUBLE PRECISION NOT NULL,
    times               INTEGER,
    -- Uses left of `times`, taken one at a time by an atomic UPDATE.
    remaining           INTEGER,
    stage               TEXT NOT NULL CHECK (stage IN ('Before', 'After')),
    created_ms          BIGINT NOT NULL
);

CREATE TABLE webhook_attempts (
    seq         BIGSERIAL PRIMARY KEY,
    delivery_id UUID NOT NULL REFERENCES webhook_deliveries (id),
    started_ms  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    -- The receiver's status, or NULL when it gave none (`error` says why).
    status      INTEGER,
    error       TEXT,
    -- The first 1 KiB of the receiver's answer.
    response    TEXT
);

CREATE INDEX webhook_attempts_of ON webhook_attempts (delivery_id, seq);
