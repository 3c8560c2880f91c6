-- Emulator tools III (SPEC 16): connection faults and faults aimed at one
-- thread; the clock's mode kept with it; when the request logs of every node
-- were last emptied.

ALTER TABLE faults ADD COLUMN connection TEXT CHECK (connection IN ('Reset', 'Hang'));
ALTER TABLE faults ADD COLUMN match_thread_id UUID;

-- A database that had a manual clock keeps it when served again without
-- `--clock`; `--clock system` turns it off (the row stays, with its time).
ALTER TABLE clock ADD COLUMN manual BOOLEAN NOT NULL DEFAULT TRUE;
-- Grows by one at every move, so that a node applies moves in their order.
ALTER TABLE clock ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE request_logs_emptied (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms BIGINT NOT NULL
);
