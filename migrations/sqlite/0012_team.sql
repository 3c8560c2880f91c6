-- Working as a team (SPEC 15.2): a thread's assignee (a member; the nil id
-- for the built-in Operator), kept with the lines of its history; internal
-- notes as lines of that history too (never in the Connector API, the
-- operator's message list or webhooks, which read messages only); what each
-- member has seen of each thread, for unread marks.

ALTER TABLE threads ADD COLUMN assignee_id BLOB;
CREATE INDEX inbox_assignee ON threads (assignee_id, is_resolved, updated_utc DESC, seq DESC);
CREATE INDEX inbox_assignee_all ON threads (assignee_id, updated_utc DESC, seq DESC);

-- SQLite cannot change a CHECK: the table is made again, its lines kept.
CREATE TABLE thread_activity_new (
    seq       INTEGER PRIMARY KEY,
    thread_id BLOB NOT NULL REFERENCES threads (id),
    at_utc    INTEGER NOT NULL,
    member_id BLOB,
    name      TEXT NOT NULL,
    action    TEXT NOT NULL
        CHECK (action IN ('Resolved', 'Reopened', 'Assigned', 'Unassigned', 'Noted')),
    after_message_id BLOB,
    -- Assigned: the assignee's id; otherwise none.
    target_id BLOB,
    -- Assigned: the assignee's name; Noted: the note's text.
    detail    TEXT
);
INSERT INTO thread_activity_new (seq, thread_id, at_utc, member_id, name, action, after_message_id)
    SELECT seq, thread_id, at_utc, member_id, name, action, after_message_id FROM thread_activity;
DROP TABLE thread_activity;
ALTER TABLE thread_activity_new RENAME TO thread_activity;
CREATE INDEX thread_activity_of ON thread_activity (thread_id, seq);

CREATE TABLE thread_reads (
    member_id BLOB NOT NULL,
    thread_id BLOB NOT NULL REFERENCES threads (id),
    -- The seq of the newest message the member has seen.
    seen_seq  INTEGER NOT NULL,
    PRIMARY KEY (member_id, thread_id)
) WITHOUT ROWID;

-- Canned replies: named snippets an admin keeps, for one enterprise or for
-- all (enterprise_id none), with {guest}, {hotel} and {agent} filled in
-- when one is inserted.
CREATE TABLE canned_replies (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    -- The name in lower case (any script): names differ by more than case.
    name_key      TEXT NOT NULL,
    enterprise_id BLOB REFERENCES enterprises (id),
    text          TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
);
-- A name once for the same enterprise (or for all), whatever its case.
CREATE UNIQUE INDEX canned_replies_name ON canned_replies (name_key, coalesce(enterprise_id, x''));
