-- Who was in which room when the server last stopped cleanly: their seats
-- are held for RESTART_GRACE_SECS after the next start, so a restart is
-- neither a leave nor a join. Read and emptied at start.
CREATE TABLE held_seats (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
