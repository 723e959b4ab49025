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

-- Words of descriptions: the 'simple' configuration, as descriptions come
-- in any language; only chats with an `alt` are in the index.
CREATE INDEX chats_alt_words ON chats USING gin (to_tsvector('simple', gif_alt))
    WHERE gif_alt IS NOT NULL;
