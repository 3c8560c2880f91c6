-- A token's rate-limit log is rewritten at every request it makes. Once it
-- passes about 2 KB (some 250 requests in the window, with a high --rate-limit)
-- PostgreSQL compressed it at every write, which cost more than the request
-- itself. Millisecond times hardly compress: store the log uncompressed.
ALTER TABLE rate_limits ALTER COLUMN log SET STORAGE EXTERNAL;

-- The log is now kept in ascending order (the rate limit finds the window by
-- binary search); older versions appended, which a clock that stepped back
-- could leave out of order.
UPDATE rate_limits SET log = ARRAY(SELECT t FROM unnest(log) t ORDER BY t);
