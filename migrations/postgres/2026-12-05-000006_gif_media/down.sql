DROP INDEX chats_alt_words;
DROP INDEX chats_gifs;
DROP TABLE gif_variants;
DROP INDEX gifs_unprocessed;
ALTER TABLE gifs DROP COLUMN processed;
ALTER TABLE gifs DROP COLUMN poster;
ALTER TABLE chats DROP COLUMN gif_alt;
