-- Faults the operator adds (SPEC 16.5), in the order they were added, and every
-- attempt of each webhook delivery (SPEC 16.6).

CREATE TABLE faults (
    seq                 INTEGER PRIMARY KEY,
    id                  BLOB NOT NULL UNIQUE,
    operation           TEXT NOT NULL,
    integration_id      BLOB,
    status              INTEGER,
    message             TEXT,
    retry_after_seconds INTEGER,
    delay_ms            INTEGER NOT NULL,
    probability         REAL NOT NULL,
    times               INTEGER,
    -- Uses left of `times`, taken one at a time by an atomic UPDATE.
    remaining           INTEGER,
    stage               TEXT NOT NULL CHECK (stage IN ('Before', 'After')),
    created_ms          INTEGER NOT NULL
);

CREATE TABLE webhook_attempts (
    seq         INTEGER PRIMARY KEY,
    delivery_id BLOB NOT NULL REFERENCES webhook_deliveries (id),
    started_ms  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    -- The receiver's status, or NULL when it gave none (`error` says why).
    status      INTEGER,
    error       TEXT,
    -- The first 1 KiB of the receiver's answer.
    response    TEXT
);

CREATE INDEX webhook_attempts_of ON webhook_attempts (delivery_id, seq);
