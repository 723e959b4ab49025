DROP TABLE room_bans;
DROP TABLE room_access;
DROP TABLE chats;
DROP TABLE gifs;
DROP TABLE rooms;
DROP TABLE users;
