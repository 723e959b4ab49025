-- GIFs get a description per chat (the uploader's `alt`), a still of the
-- first frame and lighter renditions made after upload.
ALTER TABLE chats ADD COLUMN gif_alt TEXT;
-- The poster's file name, once made.
ALTER TABLE gifs ADD COLUMN poster TEXT;
-- Whether renditions were tried; the media pass at start picks up the rest.
ALTER TABLE gifs ADD COLUMN processed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX gifs_unprocessed ON gifs (created_at) WHERE NOT processed;

CREATE TABLE gif_variants (
    file     TEXT PRIMARY KEY NOT NULL,
    gif_file TEXT NOT NULL REFERENCES gifs (file) ON DELETE CASCADE,
    type     TEXT NOT NULL,
    width    INTEGER NOT NULL,
    height   INTEGER NOT NULL,
    bytes    BIGINT NOT NULL
);
CREATE INDEX gif_variants_gif ON gif_variants (gif_file, bytes);

-- The library lists GIF chats newest first; text chats are not in it.
CREATE INDEX chats_gifs ON chats (id) WHERE gif_file IS NOT NULL;

-- Words of descriptions, kept by triggers: only chats with an `alt` enter it.
CREATE VIRTUAL TABLE chat_alts USING fts5 (
    gif_alt, content = 'chats', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER chat_alts_insert AFTER INSERT ON chats WHEN new.gif_alt IS NOT NULL BEGIN
    INSERT INTO chat_alts (rowid, gif_alt) VALUES (new.id, new.gif_alt);
END;
CREATE TRIGGER chat_alts_delete AFTER DELETE ON chats WHEN old.gif_alt IS NOT NULL BEGIN
    INSERT INTO chat_alts (chat_alts, rowid, gif_alt) VALUES ('delete', old.id, old.gif_alt);
END;
CREATE TRIGGER chat_alts_update AFTER UPDATE OF gif_alt ON chats
WHEN old.gif_alt IS NOT new.gif_alt BEGIN
    INSERT INTO chat_alts (chat_alts, rowid, gif_alt)
        SELECT 'delete', old.id, old.gif_alt WHERE old.gif_alt IS NOT NULL;
    INSERT INTO chat_alts (rowid, gif_alt)
        SELECT new.id, new.gif_alt WHERE new.gif_alt IS NOT NULL;
END;
