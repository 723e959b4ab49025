// A room: its header, the timeline, who is typing, the composer and the
// member list. Chats come from one page of history, then the socket (which
// resumes by seq), then the outbox's answers; each seq shows once.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, errorCode, type Chat, type Gif, type Room, type User } from "../api/client";
import { ConfirmDialog, PasswordDialog, type Confirmation } from "../dialog";
import { errorText, t, type Lang } from "../i18n";
import type { Outbox, Outgoing } from "../outbox";
import { navigate } from "../router";
import { withUser } from "../session";
import type { SocketClient, Status } from "../socket";
import { noteIncoming, setTitle } from "../tab";
import { Actions, type MessageActions } from "./actions";
import { Changes, changesOf, sendChange, withPendingReactions, type Change } from "./changes";
import { Composer } from "./composer";
import { Members } from "./members";
import { lazy } from "../lazy";
import { Timeline } from "./timeline";

const PAGE = 50;
/** How many pages of 200 a jump to a quoted message may fetch. */
const JUMP_PAGES = 10;
const RoomSettings = lazy(() => import("./settings"), (m) => m.RoomSettings);

/** The room's changes on their way, and what they are now. */
function useChanges(roomId: string, setChats: (f: (cs: Chat[]) => Chat[]) => void, status: Status) {
  const [changes, setChanges] = useState<ReadonlyMap<string, Change>>(new Map());
  const ref = useRef<Changes | null>(null);
  useEffect(() => {
    const send = async (change: Change) => {
      const chat = await sendChange(api, roomId, change);
      // A deletion answers nothing; the tombstone shows now, and the
      // server's own (its chat_updated) replaces it.
      if (change.kind === "delete") setChats((cs) => tombstone(cs, change.seq));
      return chat;
    };
    const c = new Changes({ send }, (chat) => setChats((cs) => updated(cs, chat)));
    ref.current = c;
    setChanges(new Map());
    c.subscribe((m) => setChanges(new Map(m)));
    return () => c.close();
  }, [roomId]);
  useEffect(() => {
    if (status === "open") ref.current?.kick();
  }, [status]);
  return { changes, add: (c: Change) => ref.current?.add(c), retry: (k: string) => ref.current?.retry(k), discard: (k: string) => ref.current?.discard(k) };
}

/** Chats kept sorted by seq, each seq once (the newer copy wins). */
function merge(existing: Chat[], incoming: Chat[]): Chat[] {
  if (incoming.length === 1 && existing.length > 0) {
    const c = incoming[0]!;
    const last = existing[existing.length - 1]!;
    if (c.seq > last.seq) return [...existing, c];
  }
  const bySeq = new Map(existing.map((c) => [c.seq, c]));
  incoming.forEach((c) => bySeq.set(c.seq, c));
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** A chat as it now is, in place, and the quotes of the replies to it. */
function updated(existing: Chat[], chat: Chat): Chat[] {
  if (!existing.some((c) => c.seq === chat.seq)) return existing;
  return existing.map((c) => {
    if (c.seq === chat.seq) return chat.rev >= c.rev ? chat : c;
    if (c.reply_to?.seq === chat.seq) {
      const excerpt = chat.deleted || chat.kind !== "text" ? null : (chat.text ?? "").slice(0, 100);
      return { ...c, reply_to: { ...c.reply_to, excerpt } };
    }
    return c;
  });
}

/** A chat deleted here, before the server's own tombstone arrives. */
function tombstone(existing: Chat[], seq: number): Chat[] {
  const chat = existing.find((c) => c.seq === seq);
  if (!chat || chat.deleted) return existing;
  return updated(existing, { ...chat, deleted: true, text: null, gif: null, reactions: [] });
}

/** Everywhere a chat names a user, the user as they now are. */
function renamed(chat: Chat, user: User): Chat {
  const has = chat.user?.id === user.id || chat.to?.id === user.id || chat.subject?.id === user.id;
  if (!has) return chat;
  return {
    ...chat,
    user: chat.user ? withUser(chat.user, user) : chat.user,
    to: chat.to ? withUser(chat.to, user) : chat.to,
    subject: chat.subject ? withUser(chat.subject, user) : chat.subject,
  };
}

/** The GIFs of a timeline, newest first, each file once. */
function gifsOf(chats: Chat[]): Gif[] {
  const seen = new Set<string>();
  const out: Gif[] = [];
  for (let i = chats.length - 1; i >= 0; i--) {
    const gif = chats[i]!.gif;
    if (!gif || chats[i]!.deleted || seen.has(gif.url)) continue;
    seen.add(gif.url);
    out.push(gif);
  }
  return out;
}

/** Where the reader got to in each room, kept across reloads. */
const readKey = (roomId: string) => `gifchat:read:${roomId}`;
function readMark(roomId: string): number | null {
  const v = Number(localStorage.getItem(readKey(roomId)));
  return Number.isFinite(v) && v > 0 ? v : null;
}

function useOutgoing(outbox: Outbox, roomId: string, me: User): Outgoing[] {
  const [items, setItems] = useState(outbox.items());
  useEffect(() => {
    setItems(outbox.items());
    return outbox.subscribe(setItems);
  }, [outbox]);
  return useMemo(() => items.filter((i) => i.room_id === roomId && i.user_id === me.id), [items, roomId, me.id]);
}

/** Puts the focus in the room's composer, if one is showing. */
export function focusComposer(): void {
  document.querySelector<HTMLTextAreaElement>("[data-testid=composer-input]")?.focus({ preventScroll: true });
}

export function RoomView({ roomId, me, socket, outbox, status, lang }: {
  roomId: string;
  me: User;
  socket: SocketClient;
  outbox: Outbox;
  status: Status;
  lang: Lang;
}) {
  const [room, setRoom] = useState<Room | null>(null);
  const [chats, setChats] = useState<Chat[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [members, setMembers] = useState<User[]>([]);
  const [typing, setTyping] = useState<Map<string, { user: User; until: number }>>(new Map());
  const [needPassword, setNeedPassword] = useState(false);
  const [pwError, setPwError] = useState<string | null>(null);
  const [announce, setAnnounce] = useState("");
  const [whisperTo, setWhisperTo] = useState<User | null>(null);
  const [ready, setReady] = useState(false);
  const [showMembers, setShowMembers] = useState(false);
  const [ask, setAsk] = useState<Confirmation | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [unreadAfter, setUnreadAfter] = useState<number | null>(null);
  const [jump, setJump] = useState(0);
  const chatsRef = useRef(chats);
  chatsRef.current = chats;
  const d = t();

  const roomGifs = useMemo(() => gifsOf(chats), [chats]);
  const outgoingAll = useOutgoing(outbox, roomId, me);
  const outgoing = useMemo(() => {
    const posted = new Set(chats.map((c) => c.client_id).filter(Boolean));
    return outgoingAll.filter((i) => !posted.has(i.client_id));
  }, [outgoingAll, chats]);

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
      const last = loaded.at(-1)?.seq ?? 0;
      const mark = readMark(roomId);
      const unread = mark !== null && loaded.some((c) => c.seq > mark && c.kind !== "system" && c.user?.id !== me.id);
      setUnreadAfter(unread ? mark : null);
      setChats(loaded);
      setHasMore(page.data?.meta.has_more ?? false);
      // Resume from the last chat shown: whatever came after, and every
      // change after the newest change shown, arrives on the socket.
      const rev = loaded.reduce((m, c) => Math.max(m, c.rev), 0);
      socket.join(roomId, last, rev);
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
  }, [roomId, socket, refreshRoom, me.id]);

  useEffect(() => {
    void enter();
    const off = socket.on((env) => {
      switch (env.type) {
        case "chat": {
          const chat = env.data.chat;
          if (chat.room_id !== roomId) return;
          setChats((cs) => merge(cs, [chat]));
          if (chat.kind !== "system" && chat.user?.id !== me.id) {
            setAnnounce(`${chat.user?.name ?? ""}: ${chat.text ?? (chat.gif?.alt ? `${d.gif}: ${chat.gif.alt}` : d.gif)}`);
            noteIncoming();
          }
          if (chat.kind === "system" && chat.event === "owner_changed") void refreshRoom();
          if (chat.user) setTyping((m) => { if (!m.has(chat.user!.id)) return m; const n = new Map(m); n.delete(chat.user!.id); return n; });
          break;
        }
        case "chat_updated": {
          const chat = env.data.chat;
          if (chat.room_id !== roomId) return;
          setChats((cs) => updated(cs, chat));
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
        case "room_updated":
          if (env.data.room.id === roomId) setRoom(env.data.room);
          break;
        case "user_updated": {
          const user = env.data.user;
          setMembers((ms) => ms.map((m) => withUser(m, user)));
          setChats((cs) => cs.map((c) => renamed(c, user)));
          setRoom((r) => (r && r.owner.id === user.id ? { ...r, owner: withUser(r.owner, user) } : r));
          setWhisperTo((w) => (w ? withUser(w, user) : w));
          setTyping((m) => (m.has(user.id) ? new Map(m).set(user.id, { ...m.get(user.id)!, user }) : m));
          break;
        }
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
    const offSent = outbox.onSent((_item, chat) => {
      if (chat.room_id === roomId) setChats((cs) => merge(cs, [chat]));
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
      offSent();
      clearInterval(sweep);
      socket.leave(roomId);
    };
  }, [roomId, socket, outbox, me.id, enter, refreshRoom]);

  useEffect(() => {
    setTitle(room ? `${room.title} · ${d.appTitle}` : d.appTitle);
  }, [room?.title, d.appTitle]);
  useEffect(() => () => setTitle(t().appTitle), []);

  // Leaving the tab marks where the reader was; coming back with nothing new
  // shows no line.
  useEffect(() => {
    const onVisibility = () => {
      const last = chatsRef.current.at(-1)?.seq ?? 0;
      if (document.visibilityState === "hidden") {
        setUnreadAfter((u) => (u === null ? last : u));
      } else {
        setUnreadAfter((u) => (u !== null && !chatsRef.current.some((c) => c.seq > u) ? null : u));
      }
    };
    document.addEventListener("visibilitychange", onVisibility);
    return () => document.removeEventListener("visibilitychange", onVisibility);
  }, []);

  const loadEarlier = useCallback(async () => {
    const first = chatsRef.current[0];
    if (!first) return;
    const { data } = await api.GET("/api/rooms/{id}/chats", { params: { path: { id: roomId }, query: { before_seq: first.seq, limit: PAGE } } });
    if (!data) return;
    setHasMore(data.meta.has_more);
    setChats((cs) => merge(cs, data.chats));
  }, [roomId]);

  // A quote's original further up than what is loaded: the pages between
  // are fetched (at most JUMP_PAGES of them), then it is shown.
  const mounted = useRef(true);
  useEffect(() => () => { mounted.current = false; }, []);
  const jumpTo = useCallback(async (seq: number) => {
    const find = () => document.querySelector<HTMLElement>(`[data-testid=messages] [data-seq="${seq}"]`);
    let el = find();
    try {
      for (let pages = 0; !el && pages < JUMP_PAGES && mounted.current; pages++) {
        const first = chatsRef.current[0];
        if (!first || first.seq <= seq) break;
        const { data } = await api.GET("/api/rooms/{id}/chats", { params: { path: { id: roomId }, query: { before_seq: first.seq, limit: 200 } } });
        if (!data || !mounted.current) return;
        setHasMore(data.meta.has_more);
        setChats((cs) => merge(cs, data.chats));
        // Rendered (and the list's own scrolling done) by the next frames.
        for (let frame = 0; frame < 10 && !(el = find()); frame++) await new Promise((r) => requestAnimationFrame(r));
        if (!data.meta.has_more) break;
      }
    } catch {
      // Offline or refused: the quote stays where it is.
      return;
    }
    if (!el) return;
    // Focused first: the list then knows the reader has moved up.
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "center", behavior: "smooth" });
    el.classList.add("flash");
    setTimeout(() => el.classList.remove("flash"), 1200);
  }, [roomId]);

  const onSeen = useCallback((seq: number) => {
    const mark = readMark(roomId) ?? 0;
    if (seq > mark) localStorage.setItem(readKey(roomId), String(seq));
  }, [roomId]);

  const confirmed = (run: () => Promise<unknown>) => async () => {
    setProblem(null);
    try {
      await run();
    } catch (err) {
      setProblem(errorText(errorCode(err)));
    }
  };

  // In the room, the composer has the focus, so typing starts a message;
  // not while a dialog asks something, nor on touch screens, where the focus
  // would pop up the keyboard over the messages.
  useEffect(() => {
    if (!ready || document.querySelector("dialog[open]") || matchMedia("(pointer: coarse)").matches) return;
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected && active.closest("input, textarea, select, [contenteditable]")) return;
    focusComposer();
  }, [ready]);

  const isOwner = room?.owner.id === me.id;
  const [showSettings, setShowSettings] = useState(false);
  const [replyTo, setReplyTo] = useState<Chat | null>(null);
  const [editingSeq, setEditingSeq] = useState<number | null>(null);
  const pending = useChanges(roomId, setChats, status);
  const actions: MessageActions = {
    owner: isOwner,
    editingSeq,
    setEditing: setEditingSeq,
    changes: pending.changes,
    retryChange: pending.retry,
    discardChange: pending.discard,
    reply: (chat) => {
      setReplyTo(chat);
      document.querySelector<HTMLTextAreaElement>("[data-testid=composer-input]")?.focus();
    },
    toggleReaction: (chat, emoji) => {
      const shown = withPendingReactions(chat.reactions, changesOf(pending.changes, chat.seq).reactions, me.id);
      const mine = shown.some((r) => r.emoji === emoji && r.user_ids.includes(me.id));
      pending.add({ kind: "react", seq: chat.seq, emoji, on: !mine, state: "pending" });
    },
    saveEdit: (chat, text) => pending.add({ kind: "edit", seq: chat.seq, text, state: "pending" }),
    saveAlt: (chat, alt) => pending.add({ kind: "alt", seq: chat.seq, alt, state: "pending" }),
    remove: (chat) => pending.add({ kind: "delete", seq: chat.seq, state: "pending" }),
    jumpTo: (seq) => void jumpTo(seq),
  };
  const editLast = () => {
    const last = [...chats].reverse().find((c) => c.user?.id === me.id && c.kind === "text" && !c.deleted);
    if (last) setEditingSeq(last.seq);
  };
  const typingUsers = [...typing.values()].map((v) => v.user).filter((u) => u.id !== me.id);

  if (needPassword) {
    return <PasswordDialog title={room?.title ?? ""} error={pwError} onClose={() => navigate("/")} onSubmit={(pw) => void enter(pw)} />;
  }

  return (
    <div class={`room${showMembers ? " members-open" : ""}`} data-testid="room" data-ready={ready ? "yes" : "no"}>
      <header class="room-head">
        <div class="room-heading">
          <h1 title={room?.title}>
            {room?.secret && <span aria-label={d.secret} title={d.secret}>🔒 </span>}
            {room?.title}
          </h1>
        </div>
        <button type="button" class="secondary members-toggle" aria-expanded={showMembers} aria-controls="members-panel"
          onClick={() => setShowMembers((s) => !s)} aria-label={`${showMembers ? d.hideMembers : d.showMembers} (${room?.member_count ?? 0}/${room?.max_members ?? ""})`}>
          <span aria-hidden="true">👥 {room?.member_count ?? 0}/{room?.max_members ?? ""}</span>
        </button>
        {isOwner && room && (
          <button type="button" class="secondary" aria-label={d.roomSettings} title={d.roomSettings}
            onClick={() => setShowSettings(true)} data-testid="room-settings-open">
            <span class="wide-only">{d.roomSettings}</span><span class="narrow-only" aria-hidden="true">⚙</span>
          </button>
        )}
        {isOwner && room && (
          <button type="button" class="danger" aria-label={d.deleteRoom} title={d.deleteRoom} onClick={() => setAsk({
            title: d.confirmDeleteTitle(room.title),
            body: d.confirmDeleteBody,
            confirm: d.deleteRoom,
            run: confirmed(() => api.DELETE("/api/rooms/{id}", { params: { path: { id: roomId } } })),
          })}>
            <span class="wide-only">{d.deleteRoom}</span><span class="narrow-only" aria-hidden="true">🗑</span>
          </button>
        )}
        {/* On a phone, a back arrow before the title, as chat apps have. */}
        <button type="button" class="secondary leave" aria-label={d.leave} title={d.leave} onClick={() => navigate("/")}>
          <span class="wide-only">{d.leave}</span><span class="narrow-only" aria-hidden="true">←</span>
        </button>
      </header>
      {problem && <p class="error room-problem" role="alert">{problem}</p>}
      <div class="room-body">
        <section class="messages-pane" aria-label={room?.title ?? ""}>
          <Actions.Provider value={actions}>
          <Timeline chats={chats} outgoing={outgoing} me={me} lang={lang} hasMore={hasMore} ready={ready}
            unreadAfter={unreadAfter} jump={jump} loadEarlier={loadEarlier} onSeen={onSeen}
            onRetry={(id) => outbox.retry(id)} onDiscard={(id) => outbox.discard(id)} label={room?.title ?? d.members} />
          </Actions.Provider>
          <div class="typing" aria-live="polite" data-testid="typing">
            {typingUsers.length === 1 ? d.typingOne(typingUsers[0]!.name) : typingUsers.length > 1 ? d.typingMany(typingUsers.length) : ""}
          </div>
          <div class="sr-only" aria-live="polite" data-testid="announcer">{announce}</div>
          <Composer roomId={roomId} socket={socket} outbox={outbox} status={status} lang={lang}
            whisperTo={whisperTo} onStopWhisper={() => setWhisperTo(null)}
            replyTo={replyTo} onStopReply={() => setReplyTo(null)} onEditLast={editLast}
            onSent={() => { setUnreadAfter(null); setReplyTo(null); setJump((j) => j + 1); }} roomGifs={roomGifs} />
        </section>
        <Members members={members} me={me} room={room} open={showMembers} onClose={() => setShowMembers(false)}
          onWhisper={(u) => {
            setWhisperTo(u);
            setShowMembers(false);
            document.querySelector<HTMLTextAreaElement>("[data-testid=composer-input]")?.focus();
          }}
          onMakeOwner={(u) => setAsk({
            title: d.confirmOwnerTitle(u.name),
            body: d.confirmOwnerBody,
            confirm: d.makeOwner,
            run: confirmed(async () => {
              const { data } = await api.PUT("/api/rooms/{id}/owner", { params: { path: { id: roomId } }, body: { user_id: u.id } });
              if (data) setRoom(data.room);
            }),
          })}
          onKick={(u) => setAsk({
            title: d.confirmKickTitle(u.name),
            body: d.confirmKickBody,
            confirm: d.kick,
            run: confirmed(() => api.POST("/api/rooms/{id}/kick", { params: { path: { id: roomId } }, body: { user_id: u.id } })),
          })} />
      </div>
      <ConfirmDialog ask={ask} onClose={() => setAsk(null)} />
      {isOwner && room && showSettings && (
        <RoomSettings room={room} open={showSettings} onClose={() => setShowSettings(false)} onSaved={setRoom} />
      )}
    </div>
  );
}
