// The message list: the only part of a room that scrolls. It opens at the
// latest message and stays pinned there while the reader is; scrolled up,
// new messages show a pill instead of moving the view. Near the top it loads
// earlier pages by itself and keeps the message being read where it was.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Chat, User } from "../api/client";
import { dayKey, formatDay } from "../format";
import { t, type Lang } from "../i18n";
import type { Outgoing } from "../outbox";
import { MessageRow, OutgoingRow, SystemLine, SystemRun } from "./message";

/** Messages of one author this close together share one name. */
const GROUP_MS = 5 * 60 * 1000;
/** Joins and leaves in a row from this many on are one line. */
const RUN_MIN = 3;
/** How close to the bottom still counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** How close to the top starts loading the page before. */
const TOP_SLACK = 400;

type Entry = { kind: "chat"; chat: Chat } | { kind: "out"; item: Outgoing };

interface Sender {
  user: string | null;
  to: string | null;
  at: number;
  day: string;
}

function senderOf(e: Entry, me: User): Sender | null {
  if (e.kind === "out") {
    return { user: me.id, to: e.item.kind === "text" ? (e.item.to?.id ?? null) : null, at: Date.parse(e.item.created_at), day: dayKey(e.item.created_at) };
  }
  if (e.chat.kind === "system") return null;
  return { user: e.chat.user?.id ?? null, to: e.chat.to?.id ?? null, at: Date.parse(e.chat.created_at), day: dayKey(e.chat.created_at) };
}

function startsGroup(prev: Sender | null, cur: Sender | null): boolean {
  if (!prev || !cur) return true;
  return prev.user !== cur.user || prev.to !== cur.to || prev.day !== cur.day || cur.at - prev.at > GROUP_MS;
}

/** The first message row at least partly visible, and its offset from the list's top. */
function anchorOf(list: HTMLElement): { key: string; offset: number } | null {
  const top = list.getBoundingClientRect().top;
  for (const el of list.querySelectorAll<HTMLElement>("[data-seq]")) {
    const r = el.getBoundingClientRect();
    if (r.bottom > top) return { key: el.dataset.seq ?? "", offset: r.top - top };
  }
  return null;
}

export function Timeline({ chats, outgoing, me, lang, hasMore, ready, unreadAfter, jump, loadEarlier, onSeen, onRetry, onDiscard, label }: {
  chats: Chat[];
  outgoing: Outgoing[];
  me: User;
  lang: Lang;
  hasMore: boolean;
  ready: boolean;
  /** The unread line goes before the first chat after this seq. */
  unreadAfter: number | null;
  /** Changes whenever the view must go to the latest message (I sent one). */
  jump: number;
  /** Fetches the page before the first chat; resolves once it is merged. */
  loadEarlier: () => Promise<void>;
  /** The latest seq the reader has seen at the bottom of the list. */
  onSeen: (seq: number) => void;
  onRetry: (clientId: string) => void;
  onDiscard: (clientId: string) => void;
  label: string;
}) {
  const d = t();
  const list = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const loading = useRef(false);
  const anchor = useRef<{ key: string; offset: number } | null>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [seenSeq, setSeenSeq] = useState(0);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const lastSeq = chats.at(-1)?.seq ?? 0;

  const toBottom = useCallback(() => {
    const el = list.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    pinned.current = true;
    setAtBottom(true);
  }, []);

  const maybeLoadEarlier = useCallback(() => {
    const el = list.current;
    if (!el || !hasMore || loading.current || !ready) return;
    if (el.scrollTop > TOP_SLACK) return;
    loading.current = true;
    setLoadingEarlier(true);
    // The anchor is taken when the page is merged, not when it is asked
    // for: the reader may scroll while it loads.
    void loadEarlier().finally(() => {
      loading.current = false;
      setLoadingEarlier(false);
    });
  }, [hasMore, ready, loadEarlier]);

  // Before the page before is merged, remember what the reader is looking at.
  const firstSeq = chats[0]?.seq ?? 0;
  const prevFirst = useRef(firstSeq);
  if (firstSeq !== prevFirst.current && list.current && !pinned.current) {
    anchor.current = anchorOf(list.current);
  }
  prevFirst.current = firstSeq;

  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    const a = anchor.current;
    anchor.current = null;
    if (a) {
      const target = el.querySelector<HTMLElement>(`[data-seq="${a.key}"]`) ?? el.querySelector<HTMLElement>(`[data-seqs~="${a.key}"]`);
      if (target) {
        el.scrollTop += target.getBoundingClientRect().top - el.getBoundingClientRect().top - a.offset;
      }
    } else if (pinned.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [chats, outgoing]);

  // A list that does not fill its box cannot be scrolled up: keep loading.
  useEffect(() => {
    const el = list.current;
    if (el && ready && hasMore && el.scrollHeight <= el.clientHeight + TOP_SLACK) maybeLoadEarlier();
  }, [chats, ready, hasMore, maybeLoadEarlier]);

  useEffect(() => {
    if (jump > 0) toBottom();
  }, [jump, toBottom]);

  // Pinned stays pinned when the box or its content changes size (the
  // composer grows, the window turns, a font arrives).
  useEffect(() => {
    const el = list.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => {
      if (pinned.current) el.scrollTop = el.scrollHeight;
    });
    ro.observe(el);
    if (el.firstElementChild) ro.observe(el.firstElementChild);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (atBottom && lastSeq) {
      setSeenSeq(lastSeq);
      if (document.visibilityState === "visible") onSeen(lastSeq);
    }
  }, [atBottom, lastSeq, onSeen]);

  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === "visible" && pinned.current && lastSeq) onSeen(lastSeq);
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [lastSeq, onSeen]);

  // The messages are one stop for Tab: the one last focused (the latest at
  // first) takes it; the arrow keys, Home and End move between them, and
  // Tab goes on into the focused one's tools.
  const current = useRef<string | null>(null);
  const rove = useCallback(() => {
    const el = list.current;
    if (!el) return;
    const rows = el.querySelectorAll<HTMLElement>(".msg[data-seq]");
    let target: HTMLElement | null = null;
    for (const r of rows) if (r.dataset.seq === current.current) target = r;
    target ??= rows[rows.length - 1] ?? null;
    for (const r of rows) {
      const want = r === target ? 0 : -1;
      if (r.tabIndex !== want) r.tabIndex = want;
    }
  }, []);
  useLayoutEffect(rove);

  const onFocusIn = (e: FocusEvent) => {
    const row = (e.target as Element).closest<HTMLElement>(".msg[data-seq]");
    // A message further up taking the focus (the keyboard, a jump to a
    // quote) is where the reader is now: new messages must not pull the
    // list back down.
    const rows = list.current?.querySelectorAll(".msg[data-seq]");
    if (row && rows && row !== rows[rows.length - 1]) pinned.current = false;
    if (!row || row.dataset.seq === current.current) return;
    current.current = row.dataset.seq ?? null;
    rove();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const row = e.target as HTMLElement;
    const el = list.current;
    if (!el) return;
    // On the list itself it is as if below the latest message: Up and End
    // go to the latest, Home to the first, Down still scrolls the list.
    const onList = row === el;
    if (!onList && !row.matches(".msg[data-seq]")) return;
    const rows = [...el.querySelectorAll<HTMLElement>(".msg[data-seq]")];
    const at = onList ? rows.length : rows.indexOf(row);
    const next = e.key === "ArrowUp" ? rows[at - 1] : e.key === "ArrowDown" ? rows[at + 1]
      : e.key === "Home" ? rows[0] : e.key === "End" ? rows[rows.length - 1] : undefined;
    const moves = e.key === "ArrowUp" || e.key === "ArrowDown" || e.key === "Home" || e.key === "End";
    if (onList ? next : moves) e.preventDefault();
    if (!next) return;
    next.focus({ preventScroll: true });
    next.scrollIntoView({ block: "nearest" });
  };

  // A long press on a message (a touch screen's context menu) shows its
  // tools, except on what has a menu of its own.
  const lastPointer = useRef("mouse");
  const onContextMenu = (e: MouseEvent) => {
    // A mouse's right click keeps the browser's own menu (copy, look up).
    if (lastPointer.current !== "touch") return;
    const target = e.target as Element;
    const row = target.closest<HTMLElement>(".msg[data-seq]");
    if (!row || target.closest("a, img, video, textarea, input")) return;
    e.preventDefault();
    row.focus({ preventScroll: true });
  };

  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
    pinned.current = bottom;
    if (bottom !== atBottom) setAtBottom(bottom);
    maybeLoadEarlier();
  };

  const unseen = atBottom ? 0 : chats.filter((c) => c.seq > seenSeq && c.kind !== "system" && c.user?.id !== me.id).length;

  const rows: preact.JSX.Element[] = [];
  let prev: Sender | null = null;
  let day: string | null = null;
  let unreadPlaced = false;
  const entries: Entry[] = [
    ...chats.map((chat): Entry => ({ kind: "chat", chat })),
    ...outgoing.map((item): Entry => ({ kind: "out", item })),
  ];
  // Joins and leaves next to each other are gathered, and shown as one
  // line once there are RUN_MIN of them.
  let run: Chat[] = [];
  const endRun = () => {
    if (run.length >= RUN_MIN) rows.push(<SystemRun key={`r${run[0]!.seq}`} chats={run} me={me} lang={lang} />);
    else for (const c of run) rows.push(<SystemLine key={`s${c.seq}`} chat={c} me={me} />);
    run = [];
  };
  const comesOrGoes = (e: Entry) => e.kind === "chat" && e.chat.kind === "system" && (e.chat.event === "joined" || e.chat.event === "left");
  for (const e of entries) {
    const at = e.kind === "chat" ? e.chat.created_at : e.item.created_at;
    const dk = dayKey(at);
    const unreadHere = e.kind === "chat" && unreadAfter !== null && !unreadPlaced && e.chat.seq > unreadAfter;
    if (!comesOrGoes(e) || dk !== day || unreadHere) endRun();
    if (dk !== day) {
      day = dk;
      rows.push(<li key={`day-${dk}`} class="day-divider" role="separator"><span>{formatDay(at, lang, d)}</span></li>);
      prev = null;
    }
    if (unreadHere) {
      unreadPlaced = true;
      rows.push(<li key="unread" class="unread-line" role="separator" data-testid="unread-line"><span>{d.unreadLine}</span></li>);
      prev = null;
    }
    const sender = senderOf(e, me);
    const first = startsGroup(prev, sender);
    prev = sender;
    if (comesOrGoes(e) && e.kind === "chat") {
      run.push(e.chat);
    } else if (e.kind === "chat") {
      rows.push(e.chat.kind === "system"
        ? <SystemLine key={`s${e.chat.seq}`} chat={e.chat} me={me} />
        : <MessageRow key={`s${e.chat.seq}`} chat={e.chat} me={me} first={first} lang={lang} />);
    } else {
      const id = e.item.client_id;
      rows.push(<OutgoingRow key={`o${id}`} item={e.item} first={first} lang={lang} onRetry={() => onRetry(id)} onDiscard={() => onDiscard(id)} />);
    }
  }
  endRun();

  return (
    <div class="timeline">
      <div class="messages" ref={list} onScroll={onScroll} onFocusIn={onFocusIn} onKeyDown={onKeyDown} onContextMenu={onContextMenu} onPointerDown={(e) => { lastPointer.current = e.pointerType; }} data-testid="messages" tabIndex={0} role="log" aria-label={label}>
        <ol class="message-list">
          {hasMore || loadingEarlier ? (
            <li class="system loading" aria-busy="true">{d.loadingEarlier}</li>
          ) : (
            ready && <li class="system start">{d.start}</li>
          )}
          {rows}
        </ol>
      </div>
      {!atBottom && (unseen > 0 ? (
        <button type="button" class="new-pill" onClick={toBottom} data-testid="new-messages">
          {d.newMessagesCount(unseen)} <span aria-hidden="true">↓</span>
        </button>
      ) : (
        <button type="button" class="to-latest" onClick={toBottom} aria-label={d.toLatest} title={d.toLatest}>
          <span aria-hidden="true">↓</span>
        </button>
      ))}
    </div>
  );
}
