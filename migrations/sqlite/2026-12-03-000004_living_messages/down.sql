DROP TABLE reactions;
DROP INDEX chats_rev;
ALTER TABLE chats DROP COLUMN deleted;
ALTER TABLE chats DROP COLUMN edited_at;
ALTER TABLE chats DROP COLUMN reply_to_seq;
ALTER TABLE chats DROP COLUMN rev;
ALTER TABLE rooms DROP COLUMN last_rev;
