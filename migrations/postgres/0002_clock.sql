-- The manual clock of `serve --clock manual`: one row, milliseconds since the
-- Unix epoch, shared by every node. A move is announced on the channel
-- switchboard_clock with the new value.
CREATE TABLE clock (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    now_ms BIGINT NOT NULL
);
