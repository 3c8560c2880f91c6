-- Inbox sessions ended by logging out before they expired (SPEC 15). A
-- session is a signed cookie that any node checks by itself; this is the one
-- thing about sessions the database keeps, until the cookie would expire.
CREATE TABLE ended_sessions (
    id          TEXT PRIMARY KEY,
    expires_utc BIGINT NOT NULL
);
