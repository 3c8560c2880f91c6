-- The inbox for a year of conversations (SPEC 15.3): each list order and
-- filter has its index, "awaiting a reply" is a column (the sender of the
-- thread's last message) rather than a look at every thread's messages, and
-- search has trigram indexes (pg_trgm) over senders, subjects and message
-- texts, folded (lower case, accents removed by unaccent), which PostgreSQL
-- keeps in the same transaction as what they index. Both extensions are
-- trusted: the database's owner may create them.

ALTER TABLE threads ADD COLUMN last_sender TEXT;
UPDATE threads t SET last_sender = (
    SELECT m.sender FROM messages m WHERE m.thread_id = t.id
    ORDER BY m.created_utc DESC, m.seq DESC LIMIT 1);

CREATE INDEX inbox_all ON threads (updated_utc DESC, seq DESC);
CREATE INDEX inbox_state ON threads (is_resolved, updated_utc DESC, seq DESC);
CREATE INDEX inbox_awaiting ON threads (updated_utc DESC, seq DESC)
    WHERE NOT is_resolved AND last_sender = 'Application';
CREATE INDEX inbox_awaiting_enterprise ON threads (enterprise_id)
    WHERE NOT is_resolved AND last_sender = 'Application';
CREATE INDEX inbox_enterprise ON threads (enterprise_id, is_resolved, updated_utc DESC, seq DESC);
CREATE INDEX inbox_integration ON threads (integration_id, is_resolved, updated_utc DESC, seq DESC);
-- All of one enterprise's or integration's threads, open and resolved.
CREATE INDEX inbox_enterprise_all ON threads (enterprise_id, updated_utc DESC, seq DESC);
CREATE INDEX inbox_integration_all ON threads (integration_id, updated_utc DESC, seq DESC);

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
-- unaccent() is only STABLE (its dictionary could change); with the
-- dictionary named, this fold is what an index may use.
CREATE FUNCTION switchboard_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN translate(lower(unaccent('unaccent'::regdictionary, $1)), 'ς', 'σ');
-- The folded texts are kept (stored generated columns), so that reading a
-- match again, or filtering the newest messages by a common word, is a plain
-- LIKE rather than a fold of each row.
ALTER TABLE threads ADD COLUMN folded TEXT
    GENERATED ALWAYS AS (switchboard_fold(original_sender || ' ' || subject)) STORED;
ALTER TABLE messages ADD COLUMN folded TEXT
    GENERATED ALWAYS AS (switchboard_fold(text)) STORED;
CREATE INDEX inbox_search_threads ON threads USING gin (folded gin_trgm_ops);
CREATE INDEX inbox_search_messages ON messages USING gin (folded gin_trgm_ops);
