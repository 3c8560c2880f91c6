-- Messages inside threads, and the staff's view of all threads.

-- seq is the insertion order; pages are ordered by (created_utc, seq) descending.
CREATE TABLE messages (
    seq         INTEGER PRIMARY KEY,
    id          BLOB NOT NULL UNIQUE,
    thread_id   BLOB NOT NULL REFERENCES threads (id),
    text        TEXT NOT NULL,
    sender      TEXT NOT NULL CHECK (sender IN ('Application', 'Enterprise')),
    created_utc INTEGER NOT NULL
);

CREATE INDEX messages_page ON messages (thread_id, created_utc, seq);

-- Staff list threads across every integration.
CREATE INDEX threads_all ON threads (created_utc, seq);
