DROP INDEX chats_changed;
CREATE INDEX chats_rev ON chats (room_id, rev);
ALTER TABLE chats DROP COLUMN changed;
