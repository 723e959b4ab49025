-- Times are Unix epoch milliseconds (UTC) so both backends store them alike.
CREATE TABLE users (
    id         TEXT PRIMARY KEY NOT NULL,
    nickname   TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE rooms (
    id            TEXT PRIMARY KEY NOT NULL,
    title         TEXT NOT NULL,
    max_members   INTEGER NOT NULL CHECK (max_members >= 2),
    password_hash TEXT,
    owner_id      TEXT NOT NULL REFERENCES users (id),
    -- The last seq handed out in this room; bumped in the transaction that
    -- inserts the chat, which keeps seqs gapless.
    last_seq      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
CREATE INDEX rooms_created_at ON rooms (created_at, id);

CREATE TABLE gifs (
    file       TEXT PRIMARY KEY NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    bytes      BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE chats (
    id         BIGSERIAL PRIMARY KEY,
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('text', 'gif', 'system')),
    user_id    TEXT REFERENCES users (id),
    body       TEXT,
    gif_file   TEXT REFERENCES gifs (file),
    to_user_id TEXT REFERENCES users (id),
    event      TEXT,
    subject_id TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (room_id, seq)
);
CREATE INDEX chats_gif_file ON chats (gif_file);

-- Who may read and post in a secret room: its creator and anyone who joined
-- with the password. Kept per user, so it outlives a browser session.
CREATE TABLE room_access (
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE room_bans (
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
