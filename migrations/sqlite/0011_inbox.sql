-- The inbox for a year of conversations (SPEC 15.3): each list order and
-- filter has its index, "awaiting a reply" is a column (the sender of the
-- thread's last message) rather than a look at every thread's messages, and
-- search has a full-text index (FTS5, trigrams) over senders, subjects and
-- message texts folded by switchboard_fold (lower case, no accents, in any
-- script; a function each connection registers), kept by triggers in the
-- same transaction as what it indexes.

ALTER TABLE threads ADD COLUMN last_sender TEXT;
UPDATE threads SET last_sender = (
    SELECT m.sender FROM messages m WHERE m.thread_id = threads.id
    ORDER BY m.created_utc DESC, m.seq DESC LIMIT 1);

CREATE INDEX inbox_all ON threads (updated_utc DESC, seq DESC);
CREATE INDEX inbox_state ON threads (is_resolved, updated_utc DESC, seq DESC);
CREATE INDEX inbox_awaiting ON threads (updated_utc DESC, seq DESC)
    WHERE is_resolved = 0 AND last_sender = 'Application';
CREATE INDEX inbox_awaiting_enterprise ON threads (enterprise_id)
    WHERE is_resolved = 0 AND last_sender = 'Application';
CREATE INDEX inbox_enterprise ON threads (enterprise_id, is_resolved, updated_utc DESC, seq DESC);
CREATE INDEX inbox_integration ON threads (integration_id, is_resolved, updated_utc DESC, seq DESC);
-- All of one enterprise's or integration's threads, open and resolved.
CREATE INDEX inbox_enterprise_all ON threads (enterprise_id, updated_utc DESC, seq DESC);
CREATE INDEX inbox_integration_all ON threads (integration_id, updated_utc DESC, seq DESC);

-- A row per thread (its sender and subject; rowid: minus the thread's seq)
-- and per message (its text; rowid: the message's seq).
CREATE VIRTUAL TABLE inbox_search USING fts5(
    thread_id UNINDEXED, body, tokenize = 'trigram');
INSERT INTO inbox_search (rowid, thread_id, body)
    SELECT -seq, id, switchboard_fold(original_sender || ' ' || subject) FROM threads;
INSERT INTO inbox_search (rowid, thread_id, body)
    SELECT seq, thread_id, switchboard_fold(text) FROM messages;

CREATE TRIGGER inbox_search_thread AFTER INSERT ON threads BEGIN
    INSERT INTO inbox_search (rowid, thread_id, body)
        VALUES (-new.seq, new.id, switchboard_fold(new.original_sender || ' ' || new.subject));
END;
CREATE TRIGGER inbox_search_message AFTER INSERT ON messages BEGIN
    INSERT INTO inbox_search (rowid, thread_id, body)
        VALUES (new.seq, new.thread_id, switchboard_fold(new.text));
END;
CREATE TRIGGER inbox_search_thread_gone AFTER DELETE ON threads BEGIN
    DELETE FROM inbox_search WHERE rowid = -old.seq;
END;
CREATE TRIGGER inbox_search_message_gone AFTER DELETE ON messages BEGIN
    DELETE FROM inbox_search WHERE rowid = old.seq;
END;
