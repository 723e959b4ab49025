import { useEffect, useMemo, useState } from "preact/hooks";
import { api, gifName, uploadGif, type User } from "./api/client";
import { lang, setLang, t, type Lang } from "./i18n";
import { Lobby } from "./lobby";
import { NicknameEditor, WelcomeDialog } from "./nickname";
import { Outbox } from "./outbox";
import { focusComposer, RoomView } from "./room/room";
import { path, roomIdOf } from "./router";
import { DEFAULT_LIMITS, hasDefaultName, limits, me as meSignal } from "./session";
import { SocketClient, backoffDelay, type Status } from "./socket";
import { useValue } from "./store";
import { setTitle } from "./tab";

function socketUrl(): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/ws`;
}

const WELCOMED = "gifchat:welcomed";

/** The session cookie must exist before the socket opens: asks who I am
 *  until the server answers. */
async function whoAmI(stopped: () => boolean): Promise<User | null> {
  for (let attempt = 0; !stopped(); attempt++) {
    try {
      const { data } = await api.GET("/api/me");
      if (data) return data.user;
    } catch {
      // Not reachable yet: the banner says so; try again.
    }
    await new Promise((ok) => setTimeout(ok, backoffDelay(attempt)));
  }
  return null;
}

export function App() {
  const current = useValue(path);
  const language = useValue(lang);
  const me = useValue(meSignal);
  const socket = useMemo(() => new SocketClient({ url: socketUrl() }), []);
  const outbox = useMemo(() => new Outbox({
    postText: async (item) => {
      const { data } = await api.POST("/api/rooms/{id}/chats", {
        params: { path: { id: item.room_id } },
        body: { text: item.text, to: item.to?.id ?? null, client_id: item.client_id, reply_to: item.reply_to ?? null },
      });
      if (!data) throw new Error("empty answer");
      return data.chat;
    },
    postGif: (item, onProgress) => uploadGif(item.room_id, item.file, item.client_id, onProgress, item.reply_to ?? null, item.alt ?? null),
    postRepost: async (item) => {
      const { data } = await api.POST("/api/rooms/{id}/chats", {
        params: { path: { id: item.room_id } },
        body: { gif: gifName(item.gif), client_id: item.client_id, reply_to: item.reply_to ?? null },
      });
      if (!data) throw new Error("empty answer");
      return data.chat;
    },
  }), []);
  const [status, setStatus] = useState<Status>(socket.status);
  const [welcome, setWelcome] = useState(false);
  const [online, setOnline] = useState(() => navigator.onLine);
  // The welcome answered in a room: typing goes to the room's composer.
  const [welcomeClosed, setWelcomeClosed] = useState(0);
  useEffect(() => {
    if (welcomeClosed) focusComposer();
  }, [welcomeClosed]);

  useEffect(() => {
    let stopped = false;
    const onPop = () => path.set(location.pathname);
    window.addEventListener("popstate", onPop);
    document.documentElement.lang = lang.get();
    void whoAmI(() => stopped).then((user) => {
      if (!user) return;
      meSignal.set(user);
      setWelcome(hasDefaultName(user) && localStorage.getItem(WELCOMED) === null);
      outbox.start(user.id);
      socket.start();
    });
    // The network's comings and goings, as the browser knows them: gone,
    // the connection is given up at once (and the banner says why); back,
    // or the page shown again after a sleep, it is tried or checked now.
    const onOffline = () => { setOnline(false); socket.drop(); };
    const check = () => { socket.reconnectNow(); socket.probe(); };
    const onOnline = () => { setOnline(true); check(); };
    const onShown = () => { if (document.visibilityState === "visible") check(); };
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);
    document.addEventListener("visibilitychange", onShown);
    const offStatus = socket.onStatus((s) => {
      setStatus(s);
      if (s === "open") outbox.kick();
    });
    const off = socket.on((env) => {
      if (env.type === "hello") {
        if (env.data.limits) limits.set({ ...DEFAULT_LIMITS, ...env.data.limits });
      } else if (env.type === "user_updated") {
        const mine = meSignal.get();
        if (mine && env.data.user.id === mine.id) meSignal.set(env.data.user);
      }
    });
    return () => {
      stopped = true;
      window.removeEventListener("popstate", onPop);
      window.removeEventListener("offline", onOffline);
      window.removeEventListener("online", onOnline);
      document.removeEventListener("visibilitychange", onShown);
      offStatus();
      off();
      socket.stop();
    };
  }, [socket, outbox]);

  const d = t();
  const roomId = roomIdOf(current);
  useEffect(() => {
    if (!roomId) setTitle(d.appTitle);
  }, [roomId, d.appTitle]);

  return (
    <div class={`app${roomId ? " in-room" : ""}`} data-lang={language}>
      <header class="topbar">
        <a class="brand" href="/" onClick={(e) => { e.preventDefault(); path.set("/"); history.pushState(null, "", "/"); }}>
          {d.appTitle}
        </a>
        <div class="topbar-tools">
          {me && <NicknameEditor me={me} onSaved={(u) => meSignal.set(u)} />}
          <label class="lang">
            <span class="sr-only">{d.language}</span>
            <select value={language} onChange={(e) => void setLang((e.currentTarget as HTMLSelectElement).value as Lang)}>
              <option value="en">English</option>
              <option value="ko">한국어</option>
            </select>
          </label>
        </div>
      </header>
      {status !== "open" && (
        <div class="banner" role="status" data-testid="connection-banner">
          <span>{!online ? d.offline : status === "connecting" ? d.connecting : d.reconnecting}</span>
          {status === "reconnecting" && online && (
            <button type="button" class="link" onClick={() => socket.reconnectNow()} data-testid="reconnect-now">{d.reconnectNow}</button>
          )}
        </div>
      )}
      <main>
        {roomId && me ? (
          <RoomView key={roomId} roomId={roomId} me={me} socket={socket} outbox={outbox} status={status} lang={language} />
        ) : (
          <Lobby me={me} socket={socket} />
        )}
      </main>
      <WelcomeDialog open={welcome}
        onSaved={(u) => { meSignal.set(u); localStorage.setItem(WELCOMED, "1"); setWelcome(false); setWelcomeClosed((n) => n + 1); }}
        onSkip={() => { localStorage.setItem(WELCOMED, "1"); setWelcome(false); setWelcomeClosed((n) => n + 1); }} />
    </div>
  );
}
