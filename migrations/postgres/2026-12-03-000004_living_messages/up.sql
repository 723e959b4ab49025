-- Chats change after they are posted: edits, deletions, reactions. Every
-- room counts its changes in `last_rev` (creating a chat is one), and each
-- chat carries the value of its last change, so a client that was away asks
-- for what changed after the last value it saw. Chats posted before this
-- took one rev each, in seq order.
ALTER TABLE rooms ADD COLUMN last_rev BIGINT NOT NULL DEFAULT 0;
UPDATE rooms SET last_rev = last_seq;

ALTER TABLE chats ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
UPDATE chats SET rev = seq;
CREATE INDEX chats_rev ON chats (room_id, rev);

-- The seq of the chat (in the same room) this one answers.
ALTER TABLE chats ADD COLUMN reply_to_seq BIGINT;
ALTER TABLE chats ADD COLUMN edited_at BIGINT;
-- A deleted chat keeps its place (seq, author, time) and loses its content.
ALTER TABLE chats ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per user and emoji on a chat; `id` orders emojis by first use.
CREATE TABLE reactions (
    id         BIGSERIAL PRIMARY KEY,
    chat_id    BIGINT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (chat_id, emoji, user_id)
);
