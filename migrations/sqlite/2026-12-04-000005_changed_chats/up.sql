-- Only chats changed after they were posted are looked up by rev: a new
-- chat is found by its seq, so posting one writes no second index entry.
-- Chats in rooms that have had any change are marked, so none is missed.
ALTER TABLE chats ADD COLUMN changed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE chats SET changed = TRUE WHERE room_id IN (SELECT id FROM rooms WHERE last_rev > last_seq);
DROP INDEX chats_rev;
CREATE INDEX chats_changed ON chats (room_id, rev) WHERE changed;
