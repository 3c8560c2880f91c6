-- The manual clock of `serve --clock manual`: one row, milliseconds since the
-- Unix epoch. It survives restarts and is what every reader of time sees.
CREATE TABLE clock (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    now_ms INTEGER NOT NULL
);
