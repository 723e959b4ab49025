DROP INDEX chats_client_id;
ALTER TABLE chats DROP COLUMN client_id;
