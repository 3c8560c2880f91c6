-- A token's rate-limit log is rewritten at every request it makes. Once it
-- passes about 2 KB (some 250 requests in the window, with a high --rate-limit)
-- PostgreSQL compressed it at every write, which cost more than the request
-- itself. Millisecond times hardly compress: store the log uncompressed.
ALTER TABLE rate_limits ALTER COLUMN log SET STORAGE EXTERNAL;
