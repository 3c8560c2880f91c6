-- The whole schema of the PostgreSQL backend, version 1: tenants and
-- credentials, threads, messages, the webhook outbox, and the rate-limit log that
-- all server nodes share. Times are whole seconds (or milliseconds, *_ms) since
-- the Unix epoch.

CREATE TABLE enterprises (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    created_utc BIGINT NOT NULL
);

CREATE TABLE integrations (
    id                UUID PRIMARY KEY,
    name              TEXT NOT NULL,
    client_token_hash BYTEA NOT NULL UNIQUE,
    created_utc       BIGINT NOT NULL,
    webhook_url       TEXT
);

CREATE TABLE access_tokens (
    id             UUID PRIMARY KEY,
    integration_id UUID NOT NULL REFERENCES integrations (id),
    token_hash     BYTEA NOT NULL UNIQUE,
    created_utc    BIGINT NOT NULL,
    revoked_utc    BIGINT
);

-- The enterprises a token may act on; position 0 is its home enterprise.
CREATE TABLE access_token_enterprises (
    token_id      UUID NOT NULL REFERENCES access_tokens (id),
    position      INTEGER NOT NULL,
    enterprise_id UUID NOT NULL REFERENCES enterprises (id),
    PRIMARY KEY (token_id, position)
);

-- seq is the insertion order; pages are ordered by (created_utc, seq) descending.
CREATE TABLE threads (
    seq             BIGSERIAL PRIMARY KEY,
    id              UUID NOT NULL UNIQUE,
    integration_id  UUID NOT NULL REFERENCES integrations (id),
    enterprise_id   UUID NOT NULL REFERENCES enterprises (id),
    original_sender TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_utc     BIGINT NOT NULL,
    updated_utc     BIGINT NOT NULL,
    is_resolved     BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX threads_page ON threads (integration_id, created_utc, seq);
CREATE INDEX threads_all ON threads (created_utc, seq);

CREATE TABLE messages (
    seq         BIGSERIAL PRIMARY KEY,
    id          UUID NOT NULL UNIQUE,
    thread_id   UUID NOT NULL REFERENCES threads (id),
    text        TEXT NOT NULL,
    sender      TEXT NOT NULL CHECK (sender IN ('Application', 'Enterprise')),
    created_utc BIGINT NOT NULL
);

CREATE INDEX messages_page ON messages (thread_id, created_utc, seq);

CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    integration_id  UUID NOT NULL REFERENCES integrations (id),
    enterprise_id   UUID NOT NULL REFERENCES enterprises (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    leased_until_ms BIGINT,
    last_error      TEXT,
    created_ms      BIGINT NOT NULL,
    finished_ms     BIGINT
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);

CREATE TABLE webhook_events (
    seq            BIGSERIAL PRIMARY KEY,
    message_id     UUID NOT NULL REFERENCES messages (id),
    integration_id UUID NOT NULL,
    enterprise_id  UUID NOT NULL,
    created_ms     BIGINT NOT NULL,
    delivery_id    UUID REFERENCES webhook_deliveries (id)
);

CREATE INDEX webhook_events_unplanned ON webhook_events (integration_id, seq)
    WHERE delivery_id IS NULL;
CREATE INDEX webhook_events_by_delivery ON webhook_events (delivery_id, seq);

-- The sliding log of each access token's recent requests (milliseconds), shared
-- by every node. UNLOGGED: it is not worth an fsync per request, and a crash
-- that empties it only forgets the last window.
CREATE UNLOGGED TABLE rate_limits (
    token_id UUID PRIMARY KEY,
    log      BIGINT[] NOT NULL,
    -- Whether the last request was let through.
    allowed  BOOLEAN NOT NULL
);
