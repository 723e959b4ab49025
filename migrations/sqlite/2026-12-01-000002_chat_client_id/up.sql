-- What the client called a post, so that a retried post is recognised and
-- answered with the chat the first one made instead of making another.
ALTER TABLE chats ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX chats_client_id ON chats (room_id, user_id, client_id)
    WHERE client_id IS NOT NULL;
