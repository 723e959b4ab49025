// Edits (of a text, or of a GIF's description), deletions and reactions on
// their way to the server. Each shows at once (the new text, a dimmed
// message, a reaction counted) and is marked
// pending until the server answers; one that cannot reach the server is
// tried again with backoff, one the server refuses is marked failed with
// Retry and Discard. Every change is idempotent on the server (the same
// text, a delete of a deleted chat, a reaction already there), so a retry
// never applies twice.
import type { Api, Chat, Reaction } from "../api/client";
import { asError, isTransient, type OutState, type SendError } from "../outbox";
import { backoffDelay } from "../socket";

interface Base {
  seq: number;
  state: OutState;
  /** The last attempt could not reach the server; it is tried again. */
  waiting?: boolean;
  error?: SendError;
}
export type Change =
  | (Base & { kind: "edit"; text: string })
  | (Base & { kind: "alt"; alt: string })
  | (Base & { kind: "delete" })
  | (Base & { kind: "react"; emoji: string; on: boolean });

export interface ChangeTransport {
  /** Sends a change; answers the chat as it now is, when the server says. */
  send(change: Change): Promise<Chat | undefined>;
}

/** Sends one edit, deletion or reaction; the chat as it now is, when the answer has it. */
export async function sendChange(api: Api, roomId: string, c: Change): Promise<Chat | undefined> {
  const path = { id: roomId, seq: c.seq };
  if (c.kind === "edit") {
    return (await api.PATCH("/api/rooms/{id}/chats/{seq}", { params: { path }, body: { text: c.text } })).data?.chat;
  }
  if (c.kind === "alt") {
    return (await api.PATCH("/api/rooms/{id}/chats/{seq}", { params: { path }, body: { alt: c.alt } })).data?.chat;
  }
  if (c.kind === "delete") {
    await api.DELETE("/api/rooms/{id}/chats/{seq}", { params: { path } });
    return undefined;
  }
  const params = { path: { ...path, emoji: c.emoji } };
  const { data } = c.on
    ? await api.PUT("/api/rooms/{id}/chats/{seq}/reactions/{emoji}", { params })
    : await api.DELETE("/api/rooms/{id}/chats/{seq}/reactions/{emoji}", { params });
  return data?.chat;
}

export function changeKey(c: Pick<Change, "seq" | "kind"> & { emoji?: string }): string {
  return c.kind === "react" ? `${c.seq}:react:${c.emoji}` : `${c.seq}:${c.kind}`;
}

export class Changes {
  private readonly list = new Map<string, Change>();
  private readonly busy = new Set<string>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly attempts = new Map<string, number>();
  private readonly subs = new Set<(changes: ReadonlyMap<string, Change>) => void>();
  private closed = false;

  constructor(
    private readonly transport: ChangeTransport,
    private readonly onDone: (chat: Chat) => void,
    private readonly random: () => number = Math.random,
  ) {}

  all(): ReadonlyMap<string, Change> {
    return this.list;
  }

  subscribe(fn: (changes: ReadonlyMap<string, Change>) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  /** Queues a change; a newer one for the same thing replaces it. */
  add(change: Change): void {
    const key = changeKey(change);
    this.list.set(key, { ...change, state: "pending", waiting: false, error: undefined });
    this.attempts.delete(key);
    this.changed();
    this.send(key);
  }

  retry(key: string): void {
    const c = this.list.get(key);
    if (c) this.add(c);
  }

  discard(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.list.delete(key);
    this.changed();
  }

  /** The server is reachable again: what was waiting goes now. */
  kick(): void {
    for (const [key, c] of this.list) {
      if (c.state === "pending" && c.waiting && !this.busy.has(key)) {
        clearTimeout(this.timers.get(key));
        this.timers.delete(key);
        this.send(key);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.timers.forEach((t) => clearTimeout(t));
    this.subs.clear();
  }

  private send(key: string): void {
    const change = this.list.get(key);
    if (!change || this.busy.has(key) || this.closed) return;
    this.busy.add(key);
    this.transport.send(change).then(
      (chat) => {
        this.busy.delete(key);
        if (chat) this.onDone(chat);
        // A newer change for the same thing came while this one was out.
        if (this.list.get(key) !== change) return this.send(key);
        this.list.delete(key);
        this.changed();
      },
      (err: unknown) => {
        this.busy.delete(key);
        if (this.list.get(key) !== change) return this.send(key);
        if (isTransient(err)) {
          this.list.set(key, { ...change, waiting: true });
          const attempt = this.attempts.get(key) ?? 0;
          this.attempts.set(key, attempt + 1);
          this.timers.set(key, setTimeout(() => { this.timers.delete(key); this.send(key); }, backoffDelay(attempt, this.random)));
        } else {
          this.list.set(key, { ...change, state: "failed", waiting: false, error: asError(err) });
        }
        this.changed();
      },
    );
  }

  private changed(): void {
    if (!this.closed) this.subs.forEach((fn) => fn(this.list));
  }
}

/** What one chat's pending changes are. */
export interface ChatChanges {
  edit?: Change & { kind: "edit" };
  alt?: Change & { kind: "alt" };
  delete?: Change & { kind: "delete" };
  reactions: (Change & { kind: "react" })[];
}

export function changesOf(all: ReadonlyMap<string, Change>, seq: number): ChatChanges {
  const out: ChatChanges = { reactions: [] };
  for (const c of all.values()) {
    if (c.seq !== seq) continue;
    if (c.kind === "edit") out.edit = c;
    else if (c.kind === "alt") out.alt = c;
    else if (c.kind === "delete") out.delete = c;
    else out.reactions.push(c);
  }
  return out;
}

/** A chat's reactions with the viewer's pending ones counted (failed ones are not). */
export function withPendingReactions(reactions: Reaction[], pending: ChatChanges["reactions"], me: string): (Reaction & { pending?: boolean })[] {
  let list: (Reaction & { pending?: boolean })[] = reactions.map((r) => ({ ...r }));
  for (const p of pending) {
    if (p.state !== "pending") continue;
    const i = list.findIndex((r) => r.emoji === p.emoji);
    const has = i >= 0 && list[i]!.user_ids.includes(me);
    if (p.on && !has) {
      if (i >= 0) list[i] = { ...list[i]!, count: list[i]!.count + 1, user_ids: [...list[i]!.user_ids, me], pending: true };
      else list = [...list, { emoji: p.emoji, count: 1, user_ids: [me], pending: true }];
    } else if (!p.on && has) {
      const r = list[i]!;
      list[i] = { ...r, count: r.count - 1, user_ids: r.user_ids.filter((u) => u !== me), pending: true };
    } else if (i >= 0) {
      list[i] = { ...list[i]!, pending: true };
    }
  }
  return list.filter((r) => r.count > 0);
}
