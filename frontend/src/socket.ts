// The one socket: reconnects with backoff and jitter, and resumes every
// joined room with `since_seq`, so a drop, a server restart or a laptop
// waking up loses and duplicates nothing.
import type { ClientEnvelope, ServerEnvelope } from "./api/client";

export type Status = "connecting" | "open" | "reconnecting";

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped,
 *  with "equal jitter" so a server restart is not met by a thundering herd. */
export function backoffDelay(attempt: number, random: () => number = Math.random, baseMs = 500, capMs = 15_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** The highest chat seq seen per room; drops chats already seen. */
export class SeqTracker {
  private readonly last = new Map<string, number>();

  /** Records a chat; false when it was already seen. */
  accept(roomId: string, seq: number): boolean {
    const last = this.last.get(roomId);
    if (last !== undefined && seq <= last) return false;
    this.last.set(roomId, seq);
    return true;
  }

  /** Raises the floor without a chat (history loaded over HTTP). */
  advance(roomId: string, seq: number): void {
    if (seq > (this.last.get(roomId) ?? -1)) this.last.set(roomId, seq);
  }

  since(roomId: string): number | undefined {
    return this.last.get(roomId);
  }

  forget(roomId: string): void {
    this.last.delete(roomId);
  }
}

/** What the client needs of a WebSocket; the browser's and `ws`'s both fit. */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}

export interface SocketOptions {
  url: string;
  open?: (url: string) => SocketLike;
  random?: () => number;
  /** The wait before reconnect attempt n; backoffDelay by default. */
  backoff?: (attempt: number) => number;
}

/** How long a probe may go unanswered before the connection is given up. */
export const PROBE_MS = 6000;
/** How long opening a connection may take before it is tried again. */
export const CONNECT_MS = 10_000;

/** Detaches a connection's handlers, so nothing it does later counts, and
 *  closes it unless it is closing already. */
function retire(ws: SocketLike, code: number): void {
  ws.onopen = ws.onmessage = ws.onclose = null;
  if (ws.readyState < 2) ws.close(code);
}

type Listener = (env: ServerEnvelope & { ref?: string }) => void;

/** The highest rev (of a chat or a change) seen per room. */
export class RevTracker {
  private readonly last = new Map<string, number>();

  advance(roomId: string, rev: number): void {
    if (rev > (this.last.get(roomId) ?? -1)) this.last.set(roomId, rev);
  }

  since(roomId: string): number | undefined {
    return this.last.get(roomId);
  }

  forget(roomId: string): void {
    this.last.delete(roomId);
  }
}

export class SocketClient {
  status: Status = "connecting";
  readonly seqs = new SeqTracker();
  readonly revs = new RevTracker();
  private ws: SocketLike | null = null;
  private attempt = 0;
  /** Until start(), and after stop(): nothing connects. */
  private stopped = true;
  private lobby = false;
  private readonly rooms = new Set<string>();
  private readonly listeners = new Set<Listener>();
  private readonly statusListeners = new Set<(s: Status) => void>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private lastHeard = Date.now();
  /** When the unanswered probe went; 0 when none is out. */
  private probeSent = 0;
  private heartbeatMs = 15_000;
  private nextRef = 0;
  /** Joins sent and not yet answered, by ref. */
  private readonly pendingJoins = new Map<string, string>();

  constructor(private readonly opts: SocketOptions) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    this.ws?.close(1000);
    this.ws = null;
  }

  /** Connects now instead of waiting out the backoff: the person asked,
   *  or the browser is back online. Does nothing while a socket is open or
   *  being opened. */
  reconnectNow(): void {
    if (this.stopped || this.ws) return;
    // The wait is skipped, not the count: a server that keeps refusing is
    // still asked ever less often.
    this.open();
  }

  /** Asks the server for an answer now (the page is shown again, the
   *  network changed): a connection that died unnoticed is given up within
   *  PROBE_MS instead of after the next heartbeat's silence. */
  probe(): void {
    if (!this.ws || this.ws.readyState !== 1 || this.probeSent) return;
    this.probeSent = Date.now();
    this.send({ type: "ping", data: {} });
  }

  /** The device has no network: the connection is given up at once, and
   *  reconnectNow() is for when it is back. */
  drop(): void {
    if (this.ws) this.lost(this.ws);
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(listener: (s: Status) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  subscribeLobby(on = true): void {
    this.lobby = on;
    this.send({ type: on ? "subscribe_lobby" : "unsubscribe_lobby", data: {} });
  }

  /** Joins a room; `sinceSeq` is the last chat already shown (from history),
   * `sinceRev` the highest rev among what is shown: changes after it come
   * as `chat_updated`. */
  join(roomId: string, sinceSeq?: number, sinceRev?: number): string {
    this.rooms.add(roomId);
    if (sinceSeq !== undefined) this.seqs.advance(roomId, sinceSeq);
    if (sinceRev !== undefined) this.revs.advance(roomId, sinceRev);
    return this.sendJoin(roomId);
  }

  leave(roomId: string): void {
    this.rooms.delete(roomId);
    this.seqs.forget(roomId);
    this.revs.forget(roomId);
    this.send({ type: "leave", data: { room_id: roomId } });
  }

  typing(roomId: string): void {
    this.send({ type: "typing", data: { room_id: roomId } });
  }

  private sendJoin(roomId: string): string {
    const since = this.seqs.since(roomId);
    const rev = this.revs.since(roomId);
    const ref = this.send({ type: "join", data: { room_id: roomId, since_seq: since ?? null, since_rev: rev ?? null } });
    this.pendingJoins.set(ref, roomId);
    return ref;
  }

  private send(env: ClientEnvelope): string {
    const ref = `c${++this.nextRef}`;
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ ...env, ref }));
    return ref;
  }

  private setStatus(s: Status): void {
    if (this.status === s) return;
    this.status = s;
    this.statusListeners.forEach((l) => l(s));
  }

  private open(): void {
    clearTimeout(this.retryTimer);
    if (this.ws) retire(this.ws, 1000);
    const make = this.opts.open ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    const ws = make(this.opts.url);
    this.ws = ws;
    const openedAt = Date.now();
    clearInterval(this.watchdog);
    // A handshake that never finishes, a sleeping laptop or a dead route
    // shows as silence: a connection not open within CONNECT_MS is given up;
    // an open one silent for a heartbeat is probed, and given up if the
    // probe has no answer within PROBE_MS.
    this.watchdog = setInterval(() => {
      const now = Date.now();
      if (ws.readyState === 0) {
        if (now - openedAt > CONNECT_MS) this.lost(ws);
      } else if (this.probeSent && now - this.probeSent > PROBE_MS) this.lost(ws);
      else if (now - this.lastHeard > this.heartbeatMs) this.probe();
    }, 1000);
    ws.onopen = () => {
      this.attempt = 0;
      this.lastHeard = Date.now();
      this.probeSent = 0;
      this.setStatus("open");
      if (this.lobby) this.send({ type: "subscribe_lobby", data: {} });
      this.rooms.forEach((room) => this.sendJoin(room));
    };
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      this.probeSent = 0;
      if (typeof ev.data !== "string") return;
      let env: ServerEnvelope & { ref?: string };
      try {
        env = JSON.parse(ev.data) as ServerEnvelope & { ref?: string };
      } catch {
        return;
      }
      this.handle(env);
    };
    ws.onclose = () => this.lost(ws);
    ws.onerror = () => {};
  }

  /** A connection is over (closed, or given up as silent): its handlers are
   *  detached, so a close that takes its time changes nothing later, and the
   *  next attempt waits its backoff. */
  private lost(ws: SocketLike): void {
    if (this.ws !== ws) return;
    clearInterval(this.watchdog);
    retire(ws, 4000);
    this.ws = null;
    this.probeSent = 0;
    if (this.stopped) return;
    this.setStatus("reconnecting");
    clearTimeout(this.retryTimer);
    const attempt = this.attempt++;
    const delay = this.opts.backoff ? this.opts.backoff(attempt) : backoffDelay(attempt, this.opts.random);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private handle(env: ServerEnvelope & { ref?: string }): void {
    switch (env.type) {
      case "hello":
        this.heartbeatMs = env.data.heartbeat_secs * 1000;
        break;
      case "chat":
        if (!this.seqs.accept(env.data.chat.room_id, env.data.chat.seq)) return;
        this.revs.advance(env.data.chat.room_id, env.data.chat.rev);
        break;
      case "chat_updated":
        this.revs.advance(env.data.chat.room_id, env.data.chat.rev);
        break;
      case "kicked":
        this.rooms.delete(env.data.room_id);
        break;
      case "room_deleted":
        this.rooms.delete(env.data.room_id);
        this.seqs.forget(env.data.room_id);
        this.revs.forget(env.data.room_id);
        break;
      case "ack":
        if (env.ref) this.pendingJoins.delete(env.ref);
        break;
      case "error":
        // A failed join (room gone, full, banned) must not be retried on reconnect.
        if (env.data.code !== "rate_limited") this.forgetPendingJoin(env.ref);
        break;
      default:
        break;
    }
    this.listeners.forEach((l) => l(env));
  }

  private forgetPendingJoin(ref: string | undefined): void {
    if (!ref) return;
    const room = this.pendingJoins.get(ref);
    if (room) this.rooms.delete(room);
    this.pendingJoins.delete(ref);
  }
}
