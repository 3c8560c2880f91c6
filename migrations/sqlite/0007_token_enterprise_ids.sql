-- Each access token's enterprises in its own row as well: their 16-byte ids,
-- home first, one after the other. Every Connector API request looks its
-- token up; reading the ids from the token's row costs a quarter of the
-- instructions that gathering them from access_token_enterprises did (about
-- 11 k against 40 k a lookup, see BENCHMARKS.md). A token's enterprises never
-- change once it is created, so the copy is written once, beside the rows of
-- access_token_enterprises (tenants::insert_enterprises), which stay for
-- filtering by enterprise. One server process owns a SQLite file, so the
-- code writes the copy; on PostgreSQL, which nodes of two versions may
-- share, the database does.
ALTER TABLE access_tokens ADD COLUMN enterprise_ids BLOB NOT NULL DEFAULT x'';

UPDATE access_tokens SET enterprise_ids = coalesce(
    (SELECT unhex(group_concat(hex(enterprise_id), '' ORDER BY position))
       FROM access_token_enterprises WHERE token_id = access_tokens.id),
    x'');
