-- Working as a team (SPEC 15.2): a thread's assignee (a member; the nil id
-- for the built-in Operator), kept with the lines of its history; internal
-- notes as lines of that history too (never in the Connector API, the
-- operator's message list or webhooks, which read messages only); what each
-- member has seen of each thread, for unread marks.

ALTER TABLE threads ADD COLUMN assignee_id UUID;
CREATE INDEX inbox_assignee ON threads (assignee_id, is_resolved, updated_utc DESC, seq DESC);
CREATE INDEX inbox_assignee_all ON threads (assignee_id, updated_utc DESC, seq DESC);

ALTER TABLE thread_activity DROP CONSTRAINT thread_activity_action_check;
ALTER TABLE thread_activity ADD CONSTRAINT thread_activity_action_check
    CHECK (action IN ('Resolved', 'Reopened', 'Assigned', 'Unassigned', 'Noted'));
-- Assigned: the assignee's id; otherwise none.
ALTER TABLE thread_activity ADD COLUMN target_id UUID;
-- Assigned: the assignee's name; Noted: the note's text.
ALTER TABLE thread_activity ADD COLUMN detail TEXT;

CREATE TABLE thread_reads (
    member_id UUID NOT NULL,
    thread_id UUID NOT NULL REFERENCES threads (id),
    -- The seq of the newest message the member has seen.
    seen_seq  BIGINT NOT NULL,
    PRIMARY KEY (member_id, thread_id)
);

-- Canned replies: named snippets an admin keeps, for one enterprise or for
-- all (enterprise_id none), with {guest}, {hotel} and {agent} filled in
-- when one is inserted.
CREATE TABLE canned_replies (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL,
    -- The name in lower case (any script): names differ by more than case.
    name_key      TEXT NOT NULL,
    enterprise_id UUID REFERENCES enterprises (id),
    text          TEXT NOT NULL,
    created_ms    BIGINT NOT NULL
);
-- A name once for the same enterprise (or for all), whatever its case.
CREATE UNIQUE INDEX canned_replies_name ON canned_replies (name_key, coalesce(enterprise_id, '00000000-0000-0000-0000-000000000000'::uuid));
