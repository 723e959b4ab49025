import { useEffect, useState } from "preact/hooks";
import { ApiError, api, errorCode, type Room, type User } from "./api/client";
import { useNameColor } from "./colors";
import { PasswordDialog } from "./dialog";
import { errorText, fieldText, t } from "./i18n";
import { navigate, notice } from "./router";
import { withUser } from "./session";
import type { SocketClient } from "./socket";
import { useValue } from "./store";

/** From how many rooms the list has a search box. */
const SEARCH_FROM = 6;

function fold(text: string): string {
  return text.normalize("NFKC").toLocaleLowerCase();
}

export function Lobby({ me, socket }: { me: User | null; socket: SocketClient }) {
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [asking, setAsking] = useState<Room | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [query, setQuery] = useState("");
  const flash = useValue(notice);
  const d = t();

  useEffect(() => {
    let alive = true;
    void api.GET("/api/rooms").then(({ data }) => alive && data && setRooms(data.rooms));
    const off = socket.on((env) => {
      if (env.type === "room_created") {
        setRooms((rs) => (rs && !rs.some((r) => r.id === env.data.room.id) ? [...rs, env.data.room] : rs));
      } else if (env.type === "room_updated") {
        setRooms((rs) => rs?.map((r) => (r.id === env.data.room.id ? env.data.room : r)) ?? rs);
      } else if (env.type === "room_deleted") {
        setRooms((rs) => rs?.filter((r) => r.id !== env.data.room_id) ?? rs);
      } else if (env.type === "user_updated") {
        const user = env.data.user;
        setRooms((rs) => rs?.map((r) => (r.owner.id === user.id ? { ...r, owner: withUser(r.owner, user) } : r)) ?? rs);
      }
    });
    socket.subscribeLobby(true);
    return () => {
      alive = false;
      off();
      socket.subscribeLobby(false);
    };
  }, [socket]);

  // Every word typed must be in the title, whatever its case or width.
  const words = fold(query).split(/\s+/).filter(Boolean);
  const shown = rooms && (words.length ? rooms.filter((r) => { const title = fold(r.title); return words.every((w) => title.includes(w)); }) : rooms);

  const enter = async (room: Room, password?: string) => {
    setError(null);
    try {
      await api.POST("/api/rooms/{id}/join", { params: { path: { id: room.id } }, body: password ? { password } : {} });
      setAsking(null);
      navigate(`/rooms/${room.id}`);
    } catch (err) {
      const code = errorCode(err);
      if (code === "wrong_password" && !asking && room.secret && !password) {
        setAsking(room);
        return;
      }
      setError(errorText(code));
    }
  };

  return (
    <div class="lobby">
      {flash && <p class="notice" role="status">{flash}</p>}
      <section aria-labelledby="rooms-heading" class="card">
        <h1 id="rooms-heading">{d.rooms}</h1>
        {error && !asking && <p class="error" role="alert">{error}</p>}
        {rooms !== null && (rooms.length >= SEARCH_FROM || query) && (
          <label class="room-search">
            <span class="sr-only">{d.searchRooms}</span>
            <input type="search" value={query} placeholder={d.searchRooms} data-testid="room-search"
              onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)} />
          </label>
        )}
        {rooms === null ? null : rooms.length === 0 ? (
          <p class="muted">{d.noRooms}</p>
        ) : shown?.length === 0 ? (
          <p class="muted" role="status">{d.noRoomsMatch(query.trim())}</p>
        ) : (
          <ul class="room-list" data-testid="room-list">
            {shown?.map((room) => (
              <li key={room.id} class="room-row" data-testid="room-row" data-room-id={room.id}>
                <div class="room-main">
                  <span class="room-title">
                    {room.secret && <span aria-label={d.secret} title={d.secret}>🔒 </span>}
                    {room.title}
                  </span>
                  <span class="room-meta">
                    <Owner user={room.owner} />
                    <span aria-label={d.members}>
                      {" · "}👥 {room.member_count}/{room.max_members}
                    </span>
                  </span>
                </div>
                <button type="button" onClick={() => void enter(room)} aria-label={`${d.join}: ${room.title}`}>
                  {d.join}
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <CreateRoom />
      <PasswordDialog title={asking?.title ?? null} error={asking ? error : null}
        onClose={() => { setAsking(null); setError(null); }}
        onSubmit={(pw) => asking && void enter(asking, pw)} />
      {me && <p class="muted small">{d.tagline}</p>}
    </div>
  );
}

function Owner({ user }: { user: User }) {
  const color = useNameColor(user.color);
  return (
    <>
      <span class="dot" style={{ background: user.color }} aria-hidden="true" />
      <span class="owner-name" style={{ color }}>{user.name}</span>
    </>
  );
}

function CreateRoom() {
  const [title, setTitle] = useState("");
  const [capacity, setCapacity] = useState("10");
  const [password, setPassword] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const d = t();

  const submit = async (e: Event) => {
    e.preventDefault();
    setFields({});
    setError(null);
    const local: Record<string, string> = {};
    if (!title.trim()) local.title = fieldText("title", "");
    const max = Number(capacity);
    if (!Number.isInteger(max) || max < 2 || max > 1000) local.max_members = fieldText("max_members", "");
    if (Object.keys(local).length) return setFields(local);
    try {
      const { data } = await api.POST("/api/rooms", { body: { title, max_members: max, password: password || null } });
      if (data) navigate(`/rooms/${data.room.id}`);
    } catch (err) {
      if (err instanceof ApiError && err.code === "validation_failed") {
        setFields(Object.fromEntries(Object.entries(err.fields).map(([f, m]) => [f, fieldText(f, m)])));
      }
      else setError(errorText(errorCode(err)));
    }
  };

  return (
    <section class="card" aria-labelledby="create-heading">
      <h2 id="create-heading">{d.createRoom}</h2>
      <form class="stack" onSubmit={submit} noValidate>
        <Field label={d.roomTitle} error={fields.title}>
          <input name="title" value={title} maxLength={100} required
            onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} />
        </Field>
        <div class="row">
          <Field label={d.capacity} error={fields.max_members}>
            <input name="max_members" type="number" min={2} max={1000} value={capacity}
              onInput={(e) => setCapacity((e.currentTarget as HTMLInputElement).value)} />
          </Field>
          <Field label={d.passwordOptional} error={fields.password}>
            <input name="password" type="password" value={password} maxLength={128} autoComplete="new-password"
              onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} />
          </Field>
        </div>
        {error && <p class="error" role="alert">{error}</p>}
        <div class="row end">
          <button type="submit">{d.create}</button>
        </div>
      </form>
    </section>
  );
}

function Field({ label, error, children }: { label: string; error?: string | undefined; children: preact.ComponentChildren }) {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
      {error && <span class="field-error" role="alert">{error}</span>}
    </label>
  );
}
