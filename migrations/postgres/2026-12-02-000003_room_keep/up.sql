-- A kept room is never deleted for being empty; its owner decides.
ALTER TABLE rooms ADD COLUMN keep BOOLEAN NOT NULL DEFAULT FALSE;
