-- The rate limit's state per token is now a window of per-bucket counts, at
-- most 60 of them whatever the limit (crate::ratelimit::Window), instead of a
-- log of every request time, which grew with the limit and was rewritten at
-- every request. The table is UNLOGGED: after a crash the windows start empty.
DROP TABLE rate_limits;
CREATE UNLOGGED TABLE rate_limits (
    token_id     UUID PRIMARY KEY,
    -- The bucket that counts[1] counts.
    first_bucket BIGINT NOT NULL,
    counts       INTEGER[] NOT NULL,
    -- Whether the last request was let through.
    allowed      BOOLEAN NOT NULL
);
