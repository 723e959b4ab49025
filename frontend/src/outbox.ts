// Messages on their way out. Each gets a `client_id` when it is written, so
// however often it is sent (a retry, a second tab, a reload) the server makes
// one chat of it. Text and GIFs posted again from the library wait here, in
// localStorage, while the server cannot be reached and go out once, in
// order, per room; GIF uploads wait in memory (a file cannot be kept across
// a reload).
import { ApiError, type Chat, type Gif, type User } from "./api/client";

export type OutState = "pending" | "failed";

/** Why the server refused something, as its error body says. */
export type SendError = { code: string; message: string; fields: Record<string, string>; status?: number };

/** Whether sending the same thing again could succeed: not after the server
 *  refused it for what it is (a 4xx such as 413, 415 or 422). */
export function canRetry(error: SendError | undefined): boolean {
  const s = error?.status;
  return !(s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 429);
}

interface Base {
  client_id: string;
  room_id: string;
  /** Who wrote it: only that user's session sends it. */
  user_id: string;
  created_at: string;
  state: OutState;
  /** Set when the last attempt could not reach the server. */
  waiting?: boolean;
  error?: SendError;
}

export interface OutText extends Base {
  kind: "text";
  text: string;
  to: User | null;
  /** The seq of the chat it answers. */
  reply_to?: number | null;
}

export interface OutGif extends Base {
  kind: "gif";
  file: Blob;
  /** The uploader's description, if any. */
  alt?: string | null;
  /** The seq of the chat it answers. */
  reply_to?: number | null;
  preview: string;
  progress: number | null;
}

/** A stored GIF posted again (from the library): no upload, so it waits
 *  and goes out in line with text. */
export interface OutRepost extends Base {
  kind: "repost";
  gif: Gif;
  /** The seq of the chat it answers. */
  reply_to?: number | null;
}

export type Outgoing = OutText | OutGif | OutRepost;
/** What goes out in order, one at a time per room, and survives a reload. */
type Queued = OutText | OutRepost;
const queued = (i: Outgoing): i is Queued => i.kind === "text" || i.kind === "repost";

/** What changes about an item while it is on its way. */
type Patch = Partial<Pick<Base, "state" | "waiting" | "error">> & { progress?: number | null };

export interface Transport {
  postText(item: OutText): Promise<Chat>;
  postGif(item: OutGif, onProgress: (fraction: number) => void): Promise<Chat>;
  postRepost(item: OutRepost): Promise<Chat>;
}

/** A client_id: 22 random URL-safe characters. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Whether an error means "try again later" rather than "this will never go". */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof ApiError)) return true; // fetch itself failed: no network, server down
  return err.status === 0 || err.status === 408 || err.status === 429 || err.status === 502 || err.status === 503 || err.status === 504;
}

const KEY = "gifchat:outbox";
const MAX_DELAY_MS = 30_000;

export class Outbox {
  private list: Outgoing[] = [];
  private readonly busy = new Set<string>();
  /** The client_ids of GIF uploads under way. */
  private readonly uploading = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly subs = new Set<(items: readonly Outgoing[]) => void>();
  private readonly sentSubs = new Set<(item: Outgoing, chat: Chat) => void>();
  private userId: string | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;

  constructor(
    private readonly transport: Transport,
    private readonly storage: Storage | null = typeof localStorage === "undefined" ? null : localStorage,
  ) {
    this.list = this.load();
  }

  items(): readonly Outgoing[] {
    return this.list;
  }

  subscribe(fn: (items: readonly Outgoing[]) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  /** Called with the chat the server made of an item, once it is sent. */
  onSent(fn: (item: Outgoing, chat: Chat) => void): () => void {
    this.sentSubs.add(fn);
    return () => this.sentSubs.delete(fn);
  }

  /** Starts sending what the signed-in user has waiting. */
  start(userId: string): void {
    this.userId = userId;
    this.kick();
  }

  addText(roomId: string, text: string, to: User | null, replyTo: number | null = null): OutText {
    // Behind a message that waits for the connection, it waits too.
    const waiting = this.list.some((i) => queued(i) && i.room_id === roomId && i.state === "pending" && i.waiting);
    const item: OutText = { kind: "text", client_id: newClientId(), room_id: roomId, user_id: this.userId ?? "", created_at: new Date().toISOString(), state: "pending", text, to, reply_to: replyTo, ...(waiting ? { waiting } : {}) };
    this.list = [...this.list, item];
    this.changed();
    this.pump(roomId);
    return item;
  }

  addGif(roomId: string, file: Blob, replyTo: number | null = null, alt: string | null = null): OutGif {
    const item: OutGif = { kind: "gif", client_id: newClientId(), room_id: roomId, user_id: this.userId ?? "", created_at: new Date().toISOString(), state: "pending", file, alt, preview: URL.createObjectURL(file), progress: 0, reply_to: replyTo };
    this.list = [...this.list, item];
    this.changed();
    void this.sendGif(item.client_id);
    return item;
  }

  /** Posts again a GIF the server has (one from the library). */
  addRepost(roomId: string, gif: Gif, replyTo: number | null = null): OutRepost {
    const item: OutRepost = { kind: "repost", client_id: newClientId(), room_id: roomId, user_id: this.userId ?? "", created_at: new Date().toISOString(), state: "pending", gif, reply_to: replyTo };
    this.list = [...this.list, item];
    this.changed();
    this.pump(roomId);
    return item;
  }

  /** Tries a failed item again, with the same client_id. */
  retry(clientId: string): void {
    const item = this.list.find((i) => i.client_id === clientId);
    if (!item) return;
    this.update(clientId, { state: "pending", waiting: false, error: undefined });
    if (item.kind === "gif") void this.sendGif(item.client_id);
    else this.pump(item.room_id);
  }

  discard(clientId: string): void {
    this.remove(clientId);
  }

  /** The server is reachable again (the socket opened): send now. */
  kick(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.attempt = 0;
    this.resume();
  }

  /** Sends again everything still pending: each room's line, and each GIF
   *  whose upload could not reach the server. */
  private resume(): void {
    const rooms = new Set(this.list.filter((i) => queued(i) && i.state === "pending").map((i) => i.room_id));
    rooms.forEach((r) => this.pump(r));
    this.list.filter((i) => i.kind === "gif" && i.state === "pending").forEach((i) => void this.sendGif(i.client_id));
  }

  /** Sends a room's text and re-posted GIFs one at a time, oldest first. */
  private pump(roomId: string): void {
    if (!this.userId || this.busy.has(roomId)) return;
    const next = this.list.find((i): i is Queued => queued(i) && i.room_id === roomId && i.state === "pending" && i.user_id === this.userId);
    if (!next) return;
    this.busy.add(roomId);
    (next.kind === "text" ? this.transport.postText(next) : this.transport.postRepost(next)).then(
      (chat) => {
        this.busy.delete(roomId);
        this.attempt = 0;
        this.sent(next, chat);
        this.pump(roomId);
      },
      (err: unknown) => {
        this.busy.delete(roomId);
        if (isTransient(err)) {
          // Stays first in line; everything behind it waits too, so order holds.
          this.list = this.list.map((i) => (queued(i) && i.room_id === roomId && i.state === "pending" ? { ...i, waiting: true } : i));
          this.changed();
          this.later();
        } else {
          this.update(next.client_id, { state: "failed", waiting: false, error: asError(err) });
          this.pump(roomId);
        }
      },
    );
  }

  /** Uploads a GIF, with its own client_id however often it goes. One the
   *  server could not be reached for waits and goes again on kick(); one it
   *  refused fails with why. */
  private async sendGif(clientId: string): Promise<void> {
    const item = this.list.find((i): i is OutGif => i.client_id === clientId && i.kind === "gif");
    if (!item || this.uploading.has(clientId) || (item.user_id && this.userId && item.user_id !== this.userId)) return;
    this.uploading.add(clientId);
    this.update(clientId, { state: "pending", waiting: false, progress: 0 });
    try {
      const chat = await this.transport.postGif(item, (progress) => this.update(clientId, { progress }));
      this.uploading.delete(clientId);
      this.attempt = 0;
      this.sent(item, chat);
    } catch (err) {
      this.uploading.delete(clientId);
      if (this.removed.has(clientId)) return;
      if (isTransient(err)) {
        this.update(clientId, { state: "pending", progress: null, waiting: true, error: undefined });
        this.later();
      } else {
        this.update(clientId, { state: "failed", progress: null, waiting: false, error: asError(err) });
      }
    }
  }

  private later(): void {
    if (this.retryTimer !== undefined) return;
    const ceiling = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(this.attempt++, 5));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.resume();
    }, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  private sent(item: Outgoing, chat: Chat): void {
    this.sentSubs.forEach((fn) => fn(item, chat));
    this.remove(item.client_id);
  }

  private remove(clientId: string): void {
    const item = this.list.find((i) => i.client_id === clientId);
    if (item?.kind === "gif") URL.revokeObjectURL(item.preview);
    this.removed.add(clientId);
    this.list = this.list.filter((i) => i.client_id !== clientId);
    this.changed();
  }

  private update(clientId: string, patch: Patch): void {
    this.list = this.list.map((i) => (i.client_id === clientId ? ({ ...i, ...patch } as Outgoing) : i));
    this.changed();
  }

  private changed(): void {
    this.save();
    this.subs.forEach((fn) => fn(this.list));
  }

  private load(): Outgoing[] {
    try {
      const raw = this.storage?.getItem(KEY);
      const items = raw ? (JSON.parse(raw) as Queued[]) : [];
      return Array.isArray(items)
        ? items.filter((i) => i && typeof i.client_id === "string" && (i.kind === "text" || (i.kind === "repost" && typeof i.gif?.url === "string")))
        : [];
    } catch {
      return [];
    }
  }

  /** Writes the queued items, merged with what another tab may have written. */
  private save(): void {
    if (!this.storage) return;
    const byId = new Map(this.load().map((i) => [i.client_id, i]));
    this.removed.forEach((id) => byId.delete(id));
    this.list.forEach((i) => {
      if (queued(i)) byId.set(i.client_id, { ...i, waiting: false });
    });
    try {
      if (byId.size) this.storage.setItem(KEY, JSON.stringify([...byId.values()]));
      else this.storage.removeItem(KEY);
    } catch {
      // Storage full or disabled: the outbox still works for this page.
    }
  }
}

export function asError(err: unknown): SendError {
  return err instanceof ApiError
    ? { code: err.code, message: err.message, fields: err.fields, status: err.status }
    : { code: "unavailable", message: String(err), fields: {} };
}
