import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api, errorCode, uploadGif, type Chat, type Room, type User } from "./api/client";
import { navigate } from "./app";
import { PasswordDialog } from "./dialog";
import { errorText, t } from "./i18n";
import type { SocketClient } from "./socket";

const PAGE = 50;

/** Chats kept sorted by seq, each seq once. */
function merge(existing: Chat[], incoming: Chat[]): Chat[] {
  const bySeq = new Map(existing.map((c) => [c.seq, c]));
  incoming.forEach((c) => bySeq.set(c.seq, c));
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export function RoomView({ roomId, me, socket }: { roomId: string; me: User; socket: SocketClient }) {
  const [room, setRoom] = useState<Room | null>(null);
  const [chats, setChats] = useState<Chat[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [members, setMembers] = useState<User[]>([]);
  const [typing, setTyping] = useState<Map<string, { user: User; until: number }>>(new Map());
  const [needPassword, setNeedPassword] = useState(false);
  const [pwError, setPwError] = useState<string | null>(null);
  const [announce, setAnnounce] = useState("");
  const [whisperTo, setWhisperTo] = useState<string>("");
  const [ready, setReady] = useState(false);
  const list = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const d = t();

  const refreshRoom = useCallback(async () => {
    const { data } = await api.GET("/api/rooms/{id}", { params: { path: { id: roomId } } });
    if (data) setRoom(data.room);
  }, [roomId]);

  const enter = useCallback(async (password?: string) => {
    try {
      const { data } = await api.POST("/api/rooms/{id}/join", { params: { path: { id: roomId } }, body: password ? { password } : {} });
      if (data) setRoom(data.room);
      setNeedPassword(false);
      const page = await api.GET("/api/rooms/{id}/chats", { params: { path: { id: roomId }, query: { limit: PAGE } } });
      const loaded = page.data?.chats ?? [];
      setChats(loaded);
      setHasMore(page.data?.meta.has_more ?? false);
      // Resume from the last chat shown: whatever came after arrives on the socket.
      socket.join(roomId, loaded.at(-1)?.seq ?? 0);
      setReady(true);
    } catch (err) {
      const code = errorCode(err);
      if (code === "wrong_password") {
        if (password) setPwError(errorText(code));
        else void refreshRoom();
        setNeedPassword(true);
      } else {
        navigate("/", errorText(code));
      }
    }
  }, [roomId, socket, refreshRoom]);

  useEffect(() => {
    void enter();
    const off = socket.on((env) => {
      switch (env.type) {
        case "chat": {
          const chat = env.data.chat;
          if (chat.room_id !== roomId) return;
          setChats((cs) => merge(cs, [chat]));
          if (chat.kind !== "system" && chat.user?.id !== me.id) setAnnounce(`${chat.user?.name ?? ""}: ${chat.text ?? "GIF"}`);
          if (chat.kind === "system" && chat.event === "owner_changed") void refreshRoom();
          if (chat.user) setTyping((m) => { if (!m.has(chat.user!.id)) return m; const n = new Map(m); n.delete(chat.user!.id); return n; });
          break;
        }
        case "joined":
          if (env.data.room.id !== roomId) return;
          setRoom(env.data.room);
          setMembers(env.data.members);
          break;
        case "member_joined":
          if (env.data.room_id !== roomId) return;
          setMembers((ms) => (ms.some((m) => m.id === env.data.user.id) ? ms : [...ms, env.data.user]));
          setRoom((r) => (r ? { ...r, member_count: env.data.member_count } : r));
          break;
        case "member_left":
          if (env.data.room_id !== roomId) return;
          setMembers((ms) => ms.filter((m) => m.id !== env.data.user.id));
          setRoom((r) => (r ? { ...r, member_count: env.data.member_count } : r));
          break;
        case "typing":
          if (env.data.room_id !== roomId) return;
          setTyping((m) => new Map(m).set(env.data.user.id, { user: env.data.user, until: Date.now() + 4000 }));
          break;
        case "kicked":
          if (env.data.room_id === roomId) navigate("/", t().kickedNotice);
          break;
        case "room_deleted":
          if (env.data.room_id === roomId) navigate("/", t().deletedNotice);
          break;
        default:
          break;
      }
    });
    const sweep = setInterval(() => {
      setTyping((m) => {
        const now = Date.now();
        if (![...m.values()].some((v) => v.until < now)) return m;
        return new Map([...m].filter(([, v]) => v.until >= now));
      });
    }, 1000);
    return () => {
      off();
      clearInterval(sweep);
      socket.leave(roomId);
    };
  }, [roomId, socket, me.id, enter, refreshRoom]);

  // Keep the view pinned to the newest message unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [chats]);

  const loadEarlier = async () => {
    const first = chats[0];
    if (!first || !hasMore) return;
    const el = list.current;
    const before = el ? el.scrollHeight - el.scrollTop : 0;
    const { data } = await api.GET("/api/rooms/{id}/chats", { params: { path: { id: roomId }, query: { before_seq: first.seq, limit: PAGE } } });
    if (!data) return;
    setHasMore(data.meta.has_more);
    stickToBottom.current = false;
    setChats((cs) => merge(cs, data.chats));
    requestAnimationFrame(() => { if (el) el.scrollTop = el.scrollHeight - before; });
  };

  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 60 && hasMore) void loadEarlier();
  };

  const isOwner = room?.owner.id === me.id;
  const typingUsers = [...typing.values()].map((v) => v.user).filter((u) => u.id !== me.id);

  if (needPassword) {
    return <PasswordDialog title={room?.title ?? ""} error={pwError} onClose={() => navigate("/")} onSubmit={(pw) => void enter(pw)} />;
  }

  return (
    <div class="room" data-testid="room" data-ready={ready ? "yes" : "no"}>
      <div class="room-head">
        <h1>
          {room?.secret && <span aria-label={d.secret}>🔒 </span>}
          {room?.title}
        </h1>
        <span class="muted" aria-label={d.members}>👥 {room?.member_count ?? 0}/{room?.max_members ?? ""}</span>
        <div class="row">
          {isOwner && (
            <button type="button" class="danger" onClick={async () => {
              await api.DELETE("/api/rooms/{id}", { params: { path: { id: roomId } } });
            }}>{d.deleteRoom}</button>
          )}
          <button type="button" class="secondary" onClick={() => navigate("/")}>{d.leave}</button>
        </div>
      </div>
      <div class="room-body">
        <section class="messages-pane" aria-label={room?.title ?? ""}>
          <ol class="messages" ref={list} onScroll={onScroll} data-testid="messages">
            {hasMore ? (
              <li class="system"><button type="button" class="link" onClick={() => void loadEarlier()}>{d.loadEarlier}</button></li>
            ) : (
              ready && <li class="system">{d.start}</li>
            )}
            {chats.map((c) => <Message key={c.seq} chat={c} me={me} />)}
          </ol>
          <div class="typing" aria-live="polite" data-testid="typing">
            {typingUsers.length === 1 ? d.typingOne(typingUsers[0]!.name) : typingUsers.length > 1 ? d.typingMany(typingUsers.length) : ""}
          </div>
          <div class="sr-only" aria-live="polite" data-testid="announcer">{announce}</div>
          <Composer roomId={roomId} socket={socket} members={members.filter((m) => m.id !== me.id)}
            whisperTo={whisperTo} setWhisperTo={setWhisperTo} />
        </section>
        <aside class="members card" aria-labelledby="members-heading">
          <h2 id="members-heading">{d.members}</h2>
          <ul data-testid="member-list">
            {members.map((m) => (
              <li key={m.id} class="member">
                <span class="dot" style={{ background: m.color }} aria-hidden="true" />
                <span class="member-name" style={{ color: m.color }}>{m.name}</span>
                {m.id === room?.owner.id && <span class="badge" title={d.owner}>👑<span class="sr-only">{d.owner}</span></span>}
                {m.id === me.id && <span class="muted small">({d.you})</span>}
                {m.id !== me.id && (
                  <span class="member-actions">
                    <button type="button" class="link" onClick={() => setWhisperTo(m.id)} aria-label={`${d.whisper}: ${m.name}`}>{d.whisper}</button>
                    {isOwner && (
                      <>
                        <button type="button" class="link" aria-label={`${d.makeOwner}: ${m.name}`} onClick={async () => {
                          const { data } = await api.PUT("/api/rooms/{id}/owner", { params: { path: { id: roomId } }, body: { user_id: m.id } });
                          if (data) setRoom(data.room);
                        }}>{d.makeOwner}</button>
                        <button type="button" class="link danger" aria-label={`${d.kick}: ${m.name}`} onClick={() =>
                          void api.POST("/api/rooms/{id}/kick", { params: { path: { id: roomId } }, body: { user_id: m.id } })
                        }>{d.kick}</button>
                      </>
                    )}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </aside>
      </div>
    </div>
  );
}

function Message({ chat, me }: { chat: Chat; me: User }) {
  const d = t();
  if (chat.kind === "system") {
    const name = `${chat.subject?.name ?? ""}${chat.subject?.id === me.id ? ` (${d.you})` : ""}`;
    const text = chat.event === "joined" ? d.joined(name)
      : chat.event === "left" ? d.left(name)
      : chat.event === "kicked" ? d.kickedLine(name)
      : chat.event === "owner_changed" ? d.ownerChanged(name) : "";
    return <li class="system" data-seq={chat.seq}>{text}</li>;
  }
  const mine = chat.user?.id === me.id;
  const whisper = chat.to ? (mine ? d.whisperToLine(chat.to.name) : d.whisperFrom(chat.user?.name ?? "")) : null;
  return (
    <li class={`msg${mine ? " mine" : ""}${whisper ? " whisper" : ""}`} data-seq={chat.seq} data-testid="message">
      {!mine && <span class="author" style={{ color: chat.user?.color }}>{chat.user?.name}</span>}
      {whisper && <span class="whisper-tag">🤫 {whisper}</span>}
      <div class="bubble" style={mine ? undefined : { borderColor: chat.user?.color }}>
        {chat.gif ? (
          <img src={chat.gif.url} width={chat.gif.width} height={chat.gif.height} alt="GIF" loading="lazy"
            style={{ aspectRatio: `${chat.gif.width} / ${chat.gif.height}` }} />
        ) : (
          <span class="text">{chat.text}</span>
        )}
      </div>
      <time class="time" dateTime={chat.created_at}>{new Date(chat.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}</time>
    </li>
  );
}

function Composer({ roomId, socket, members, whisperTo, setWhisperTo }: {
  roomId: string;
  socket: SocketClient;
  members: User[];
  whisperTo: string;
  setWhisperTo: (id: string) => void;
}) {
  const [text, setText] = useState("");
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const lastTyping = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const d = t();

  const send = async () => {
    const body = text.trim();
    if (!body) return;
    setError(null);
    try {
      await api.POST("/api/rooms/{id}/chats", { params: { path: { id: roomId } }, body: { text: body, to: whisperTo || null } });
      setText("");
      // Others stop showing us as typing when our message lands; the next
      // keystroke must tell them again straight away.
      lastTyping.current = 0;
    } catch (err) {
      setError(errorText(errorCode(err)));
    }
  };

  const upload = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    setProgress(0);
    try {
      await uploadGif(roomId, file, setProgress);
    } catch (err) {
      setError(errorText(errorCode(err)));
    } finally {
      setProgress(null);
    }
  };

  return (
    <form class={`composer${dragging ? " dragging" : ""}`} onSubmit={(e) => { e.preventDefault(); void send(); }}
      onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => { e.preventDefault(); setDragging(false); void upload(e.dataTransfer?.files[0]); }}>
      {dragging && <div class="drop-hint">{d.dropGif}</div>}
      {progress !== null && (
        <progress max={1} value={progress} aria-label={d.uploading} data-testid="upload-progress" />
      )}
      {error && <p class="error" role="alert" data-testid="composer-error">{error}</p>}
      <div class="composer-row">
        <label class="whisper-select">
          <span class="sr-only">{d.whisperTo}</span>
          <select value={whisperTo} onChange={(e) => setWhisperTo((e.currentTarget as HTMLSelectElement).value)} data-testid="whisper-to">
            <option value="">{d.everyone}</option>
            {members.map((m) => <option key={m.id} value={m.id}>🤫 {m.name}</option>)}
          </select>
        </label>
        <label class="grow">
          <span class="sr-only">{d.messagePlaceholder}</span>
          <textarea rows={1} value={text} maxLength={2000} placeholder={d.messagePlaceholder} data-testid="composer-input"
            onInput={(e) => {
              setText((e.currentTarget as HTMLTextAreaElement).value);
              if (Date.now() - lastTyping.current > 2000) {
                lastTyping.current = Date.now();
                socket.typing(roomId);
              }
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                void send();
              }
            }}
            onPaste={(e) => {
              const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
              if (file) { e.preventDefault(); void upload(file); }
            }} />
        </label>
        <input ref={fileInput} type="file" accept="image/gif" class="sr-only" tabIndex={-1} data-testid="gif-input"
          onChange={(e) => { const input = e.currentTarget as HTMLInputElement; void upload(input.files?.[0]); input.value = ""; }} />
        <button type="button" class="secondary" onClick={() => fileInput.current?.click()}>{d.addGif}</button>
        <button type="submit">{d.send}</button>
      </div>
    </form>
  );
}
