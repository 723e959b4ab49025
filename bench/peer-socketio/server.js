// A faithful, small port of the textbook GIF chat's message path, used only
// as a benchmark peer. MongoDB cannot run here, so rooms and chats live in
// memory; everything else follows the original: Express with express-session,
// Socket.IO namespaces `/room` (the lobby) and `/chat` (rooms), a colour
// derived from the session, and `POST /room/:id/chat` storing the chat and
// then emitting it to the room.
const http = require("http");
const express = require("express");
const session = require("express-session");
const ColorHash = require("color-hash").default;
const { Server } = require("socket.io");

const app = express();
const server = http.createServer(app);
const io = new Server(server, { transports: ["websocket", "polling"] });
const colorHash = new ColorHash();

const sessionMiddleware = session({
  resave: false,
  saveUninitialized: true,
  secret: "gifchat-bench-peer",
  cookie: { httpOnly: true, secure: false },
});
app.use(express.json());
app.use(sessionMiddleware);
app.use((req, res, next) => {
  if (!req.session.color) req.session.color = colorHash.hex(req.sessionID);
  next();
});
io.engine.use(sessionMiddleware);

const rooms = new Map(); // id -> { _id, title, max, owner, password, createdAt }
const chats = new Map(); // roomId -> [chat]
let nextId = 1;

const room = io.of("/room");
const chat = io.of("/chat");

app.get("/room", (req, res) => {
  res.json({ rooms: [...rooms.values()].map(({ password, ...r }) => r) });
});

app.post("/room", (req, res) => {
  const id = String(nextId++);
  const newRoom = {
    _id: id,
    title: req.body.title,
    max: req.body.max || 10,
    owner: req.session.color,
    password: req.body.password,
    createdAt: new Date(),
  };
  rooms.set(id, newRoom);
  chats.set(id, []);
  const { password, ...shown } = newRoom;
  room.emit("newRoom", shown);
  res.json({ room: shown });
});

app.get("/room/:id/chats", (req, res) => {
  const list = chats.get(req.params.id);
  if (!list) return res.status(404).json({ error: "no such room" });
  res.json({ chats: list.slice(-50) });
});

app.post("/room/:id/chat", (req, res) => {
  const list = chats.get(req.params.id);
  if (!list) return res.status(404).json({ error: "no such room" });
  const c = { room: req.params.id, user: req.session.color, chat: req.body.chat, createdAt: new Date() };
  list.push(c);
  chat.to(req.params.id).emit("chat", c);
  res.send("ok");
});

room.on("connection", () => {});

chat.on("connection", (socket) => {
  // The original parsed the room id out of the Referer; clients here pass it.
  const roomId = socket.handshake.query.roomId;
  const color = socket.request.session && socket.request.session.color;
  socket.join(roomId);
  socket.to(roomId).emit("join", { user: "system", chat: `${color} joined.` });
  socket.on("disconnect", () => {
    socket.to(roomId).emit("exit", { user: "system", chat: `${color} left.` });
  });
});

const port = Number(process.env.PORT || 8010);
server.listen(port, "127.0.0.1", () => console.log(`peer listening on port ${port}`));
