-- Staff accounts (SPEC 15.1): members who log in to the inbox with a login
-- and a password (an Argon2id hash), their role and enterprise scope; who
-- wrote each staff reply; who resolved or reopened a thread.

CREATE TABLE staff_members (
    id                   BLOB PRIMARY KEY,
    name                 TEXT NOT NULL,
    -- Lower case: logins are case-insensitive.
    login                TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('Admin', 'Agent')),
    -- The enterprises the member sees, 16 bytes each; empty: all of them.
    enterprise_ids       BLOB NOT NULL,
    disabled             INTEGER NOT NULL DEFAULT 0,
    -- The password was made by someone else: the member sets their own
    -- before anything else.
    must_change_password INTEGER NOT NULL,
    created_ms           INTEGER NOT NULL,
    -- Sessions issued before this (real time, ms) are over: a password
    -- change or a disable ends them.
    sessions_from_ms     INTEGER NOT NULL
);

-- The member who wrote a staff reply (none: the operator API).
CREATE TABLE message_authors (
    message_id BLOB PRIMARY KEY REFERENCES messages (id),
    member_id  BLOB,
    name       TEXT NOT NULL
);

-- Resolves and reopens, by whom.
CREATE TABLE thread_activity (
    seq       INTEGER PRIMARY KEY,
    thread_id BLOB NOT NULL REFERENCES threads (id),
    at_utc    INTEGER NOT NULL,
    member_id BLOB,
    name      TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('Resolved', 'Reopened')),
    -- The thread's last message when it happened: the line goes after it
    -- (times are whole seconds, too coarse to order by).
    after_message_id BLOB
);

CREATE INDEX thread_activity_of ON thread_activity (thread_id, seq);
