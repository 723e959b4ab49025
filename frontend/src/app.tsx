import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type User } from "./api/client";
import { lang, setLang, t, type Lang } from "./i18n";
import { SocketClient, type Status } from "./socket";
import { signalLike, useValue } from "./store";
import { Lobby } from "./lobby";
import { RoomView } from "./room";
import { NicknameEditor } from "./nickname";

/** The current path, kept in sync with history. */
export const path = signalLike(location.pathname);
/** A one-off message shown after navigation (room deleted, kicked…). */
export const notice = signalLike<string | null>(null);

export function navigate(to: string, message: string | null = null): void {
  if (location.pathname !== to) history.pushState(null, "", to);
  notice.set(message);
  path.set(to);
}

function socketUrl(): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/ws`;
}

export function App() {
  const current = useValue(path);
  const language = useValue(lang);
  const [me, setMe] = useState<User | null>(null);
  const socket = useMemo(() => new SocketClient({ url: socketUrl() }), []);
  const [status, setStatus] = useState<Status>(socket.status);

  useEffect(() => {
    const onPop = () => path.set(location.pathname);
    window.addEventListener("popstate", onPop);
    document.documentElement.lang = lang.get();
    // The session cookie must exist before the socket opens.
    void api.GET("/api/me").then(({ data }) => {
      if (data) setMe(data.user);
      socket.start();
    });
    const off = socket.onStatus(setStatus);
    return () => {
      window.removeEventListener("popstate", onPop);
      off();
      socket.stop();
    };
  }, [socket]);

  const d = t();
  const roomMatch = /^\/rooms\/([0-9a-f]{32})\/?$/.exec(current);
  return (
    <div class="app" data-lang={language}>
      <header class="topbar">
        <a class="brand" href="/" onClick={(e) => { e.preventDefault(); navigate("/"); }}>
          {d.appTitle}
        </a>
        <div class="topbar-tools">
          {me && <NicknameEditor me={me} onSaved={setMe} />}
          <label class="lang">
            <span class="sr-only">{d.language}</span>
            <select value={language} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}>
              <option value="en">English</option>
              <option value="ko">한국어</option>
            </select>
          </label>
        </div>
      </header>
      {status !== "open" && (
        <div class="banner" role="status" data-testid="connection-banner">
          {status === "connecting" ? d.connecting : d.reconnecting}
        </div>
      )}
      <main>
        {roomMatch?.[1] && me ? (
          <RoomView key={roomMatch[1]} roomId={roomMatch[1]} me={me} socket={socket} />
        ) : (
          <Lobby me={me} socket={socket} />
        )}
      </main>
    </div>
  );
}
