-- Tenants, credentials and message threads.
-- Ids are 16-byte UUID blobs; times are whole seconds since the Unix epoch.

CREATE TABLE enterprises (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_utc INTEGER NOT NULL
);

CREATE TABLE integrations (
    id                BLOB PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    client_token_hash BLOB NOT NULL UNIQUE,
    created_utc       INTEGER NOT NULL
);

CREATE TABLE access_tokens (
    id             BLOB PRIMARY KEY NOT NULL,
    integration_id BLOB NOT NULL REFERENCES integrations (id),
    token_hash     BLOB NOT NULL UNIQUE,
    created_utc    INTEGER NOT NULL,
    revoked_utc    INTEGER
);

-- The enterprises a token may act on; position 0 is its home enterprise.
CREATE TABLE access_token_enterprises (
    token_id      BLOB NOT NULL REFERENCES access_tokens (id),
    position      INTEGER NOT NULL,
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id),
    PRIMARY KEY (token_id, position)
);

-- seq is the insertion order; pages are ordered by (created_utc, seq) descending.
CREATE TABLE threads (
    seq             INTEGER PRIMARY KEY,
    id              BLOB NOT NULL UNIQUE,
    integration_id  BLOB NOT NULL REFERENCES integrations (id),
    enterprise_id   BLOB NOT NULL REFERENCES enterprises (id),
    original_sender TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_utc     INTEGER NOT NULL,
    updated_utc     INTEGER NOT NULL,
    is_resolved     INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX threads_page ON threads (integration_id, created_utc, seq);
