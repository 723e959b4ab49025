// One line of the timeline: a chat, a system line, or a message on its way out.
import type { Chat, Gif, User } from "../api/client";
import { useNameColor } from "../colors";
import { formatDateTime, formatTime } from "../format";
import { problemText, t, type Lang } from "../i18n";
import { canRetry, type Outgoing } from "../outbox";
import { limits } from "../session";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { Actions, QUICK_EMOJIS, REACTIONS_MAX } from "./actions";
import { changeKey, changesOf, withPendingReactions, type Change, type ChatChanges } from "./changes";
import { GifView } from "./gif";
import { AltEditBox } from "./gif-upload";
import { lazy, onDemand } from "../lazy";

const useLinks = onDemand(() => import("../links"));

/** Text with its http(s) links made clickable once the link matcher is here. */
export function LinkedText({ text }: { text: string }) {
  const hasLink = /https?:\/\//i.test(text);
  const links = useLinks(hasLink).value;
  const pieces = hasLink && links ? links.linkPieces(text) : [{ text, href: undefined }];
  return (
    <span class="text">
      {pieces.map((p, i) =>
        p.href ? (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer">{p.text}</a>
        ) : (
          p.text
        ),
      )}
    </span>
  );
}

/** A system chat's line; `nested` inside a run, where it is not a row of its own. */
export function SystemLine({ chat, me, nested }: { chat: Chat; me: User; nested?: boolean }) {
  const d = t();
  const self = chat.subject?.id === me.id;
  const name = chat.subject?.name ?? "";
  const text = chat.event === "joined" ? (self ? d.joinedSelf : d.joined(name))
    : chat.event === "left" ? (self ? d.leftSelf : d.left(name))
    : chat.event === "kicked" ? (self ? d.kickedSelf : d.kickedLine(name))
    : chat.event === "owner_changed" ? (self ? d.ownerChangedSelf : d.ownerChanged(name)) : "";
  return nested ? <li class="run-line">{text}</li> : <li class="system" data-seq={chat.seq}>{text}</li>;
}

/** How many names a run's line spells out before "and N others". */
const RUN_NAMES = 3;

/** Names as a sentence lists them in the reader's language, the first few
 *  then how many more. */
function nameList(names: string[], lang: Lang, others: (n: number) => string): string {
  const shown = names.length > RUN_NAMES + 1 ? [...names.slice(0, RUN_NAMES), others(names.length - RUN_NAMES)] : names;
  return new Intl.ListFormat(lang, { style: "long", type: "conjunction" }).format(shown);
}

/** A run of joins and leaves in one line, by where each person ended up:
 *  who came in, who went out; the single lines on request. */
export function SystemRun({ chats, me, lang }: { chats: Chat[]; me: User; lang: Lang }) {
  const d = t();
  const [open, setOpen] = useState(false);
  const last = new Map<string, { name: string; event: string }>();
  for (const c of chats) {
    if (!c.subject) continue;
    last.delete(c.subject.id);
    last.set(c.subject.id, { name: c.subject.id === me.id ? d.youName : c.subject.name, event: c.event ?? "" });
  }
  const names = (event: string) => [...last.values()].filter((v) => v.event === event).map((v) => v.name);
  const joined = names("joined");
  const left = names("left");
  const summary = [
    joined.length ? d.joinedMany(nameList(joined, lang, d.andOthers)) : "",
    left.length ? d.leftMany(nameList(left, lang, d.andOthers)) : "",
  ].filter(Boolean).join(" ");
  const lastChat = chats[chats.length - 1]!;
  return (
    <li class="system run" data-seq={lastChat.seq} data-seqs={chats.map((c) => c.seq).join(" ")} data-testid="system-run">
      <span>{summary}</span>{" "}
      <button type="button" class="link small" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        {open ? d.showLess : d.showAll(chats.length)}
      </button>
      {open && (
        <ul class="run-lines">
          {chats.map((c) => <SystemLine key={c.seq} chat={c} me={me} nested />)}
        </ul>
      )}
    </li>
  );
}

function Author({ user }: { user: User }) {
  const color = useNameColor(user.color);
  return <span class="author" style={{ color }} data-testid="author">{user.name}</span>;
}

/** The chat a reply answers, as it now is; a click shows it. */
function Quote({ chat }: { chat: Chat }) {
  const d = t();
  const actions = useContext(Actions);
  const q = chat.reply_to;
  if (!q) return null;
  const excerpt = q.excerpt ?? (q.kind === "gif" ? d.gifExcerpt : d.deletedMessage);
  return (
    <button type="button" class="quote" data-testid="quote" title={d.jumpToOriginal} onClick={() => actions?.jumpTo(q.seq)}>
      <strong>{q.user?.name ?? ""}</strong> <span class={q.excerpt === null ? "gone" : ""}>{excerpt}</span>
    </button>
  );
}

function Reactions({ chat, me, pending }: { chat: Chat; me: User; pending: ChatChanges["reactions"] }) {
  const actions = useContext(Actions);
  const shown = withPendingReactions(chat.reactions, pending, me.id);
  if (shown.length === 0) return null;
  return (
    <div class="reactions" data-testid="reactions">
      {shown.map((r) => {
        const mine = r.user_ids.includes(me.id);
        return (
          <button key={r.emoji} type="button" class={`reaction${mine ? " mine" : ""}${r.pending ? " pending" : ""}`} aria-pressed={mine}
            data-testid="reaction" data-state={r.pending ? "pending" : undefined} onClick={() => actions?.toggleReaction(chat, r.emoji)}>
            <span aria-hidden="true">{r.emoji}</span> {r.count}
            <span class="sr-only">{r.emoji}</span>
          </button>
        );
      })}
    </div>
  );
}

/** A change the server refused or could not take: what it was, Retry and Discard. */
function FailedChange({ change, text, chat }: { change: Change; text: string; chat: Chat }) {
  const d = t();
  const actions = useContext(Actions);
  const key = changeKey(change);
  return (
    <div class="outgoing-actions" data-testid="change-failed">
      <span class="error small">{text}{change.error && change.error.code !== "unavailable" ? ` ${problemText(change.error, { textMax: limits.get().text_max_chars, altMax: limits.get().alt_max_chars, reactionsFull: chat.reactions.length >= REACTIONS_MAX })}` : ""}</span>
      <button type="button" class="link" onClick={() => actions?.retryChange(key)}>{d.retry}</button>
      <button type="button" class="link danger" onClick={() => actions?.discardChange(key)}>{d.discard}</button>
    </div>
  );
}

const EmojiPicker = lazy(() => import("./emoji-picker"), (m) => m.EmojiPicker);

/** Reply, react, edit and delete: shown on hover, focus or a long press. */
function Toolbar({ chat, me }: { chat: Chat; me: User }) {
  const d = t();
  const actions = useContext(Actions);
  const [picking, setPicking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [browsing, setBrowsing] = useState(false);
  const more = useRef<HTMLButtonElement>(null);
  if (!actions || chat.deleted) return null;
  const mine = chat.user?.id === me.id;
  return (
    <div class={`msg-tools${picking || browsing || confirming ? " open" : ""}`} role="toolbar" aria-label={d.reactAction} data-testid="msg-tools">
      <button type="button" class="icon" title={d.replyAction} aria-label={d.replyAction} onClick={() => actions.reply(chat)}>↩</button>
      <button type="button" class="icon" title={d.reactAction} aria-label={d.reactAction} aria-expanded={picking} onClick={() => setPicking((p) => !p)}>☺</button>
      {mine && chat.kind === "text" && (
        <button type="button" class="icon" title={d.editAction} aria-label={d.editAction} onClick={() => actions.setEditing(chat.seq)}>✎</button>
      )}
      {mine && chat.kind === "gif" && chat.gif && (
        <button type="button" class="icon" title={d.editAlt} aria-label={d.editAlt} data-testid="edit-alt" onClick={() => actions.setEditing(chat.seq)}>✎</button>
      )}
      {(mine || actions.owner) && (confirming ? (
        <button type="button" class="link danger" onClick={() => { setConfirming(false); actions.remove(chat); }}>{d.confirmDeleteAction}</button>
      ) : (
        <button type="button" class="icon" title={d.deleteAction} aria-label={d.deleteAction} onClick={() => setConfirming(true)}>🗑</button>
      ))}
      {picking && (
        <div class="emoji-picker" role="group" aria-label={d.reactAction}>
          {QUICK_EMOJIS.map((emoji) => (
            <button key={emoji} type="button" class="icon" aria-label={emoji} onClick={() => { setPicking(false); actions.toggleReaction(chat, emoji); }}>{emoji}</button>
          ))}
          <button ref={more} type="button" class="icon" aria-label={d.moreEmoji} title={d.moreEmoji} aria-haspopup="dialog"
            aria-expanded={browsing} data-testid="more-emoji" onClick={() => setBrowsing((b) => !b)}>＋</button>
        </div>
      )}
      {browsing && (
        <EmojiPicker anchor={more.current} onClose={() => setBrowsing(false)}
          onPick={(emoji) => { setBrowsing(false); setPicking(false); actions.toggleReaction(chat, emoji); }} />
      )}
    </div>
  );
}

function EditBox({ chat }: { chat: Chat }) {
  const d = t();
  const actions = useContext(Actions);
  const [text, setText] = useState(chat.text ?? "");
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    box.current?.focus();
  }, []);
  const save = () => {
    if (!actions) return;
    const body = text.trim();
    if (!body || body === chat.text) { actions.setEditing(null); return; }
    actions.saveEdit(chat, body);
    actions.setEditing(null);
  };
  return (
    <div class="edit-box">
      <textarea ref={box} value={text} aria-label={d.editAction} data-testid="edit-input"
        onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(); }
          else if (e.key === "Escape") { e.preventDefault(); actions?.setEditing(null); }
        }} />
      <span class="hint small">{d.editHint}</span>
    </div>
  );
}

/** A chat from the server. `first` starts a group: the author's name shows. */
export function MessageRow({ chat, me, first, lang }: { chat: Chat; me: User; first: boolean; lang: Lang }) {
  const d = t();
  const actions = useContext(Actions);
  const mine = chat.user?.id === me.id;
  // A whisper received shows under its sender's name: it need not repeat it.
  const whisper = chat.to ? (mine ? d.whisperToLine(chat.to.name) : d.whisperToYou) : null;
  const editing = actions?.editingSeq === chat.seq && !chat.deleted;
  const pending = actions ? changesOf(actions.changes, chat.seq) : { reactions: [] };
  const edit = chat.deleted ? undefined : pending.edit;
  const altEdit = chat.deleted ? undefined : pending.alt;
  const removal = chat.deleted ? undefined : pending.delete;
  const text = edit ? edit.text : chat.text ?? "";
  // The description as it will be, while a change to it is on its way.
  const gif: Gif | null | undefined = chat.gif && altEdit ? { ...chat.gif, alt: altEdit.alt || null } : chat.gif;
  const saving = edit?.state === "pending" || altEdit?.state === "pending";
  const status = removal?.state === "pending" ? d.deleting : saving ? d.saving : null;
  const changeState = removal?.state === "pending" || saving ? "pending" : removal || edit || altEdit ? "failed" : undefined;
  const cls = `msg${mine ? " mine" : ""}${whisper ? " whisper" : ""}${first ? " first" : ""}${chat.gif ? " has-gif" : ""}${chat.deleted ? " deleted" : ""}${removal?.state === "pending" ? " deleting" : ""}`;
  return (
    <li class={cls} data-seq={chat.seq} data-testid="message" data-state={mine ? "sent" : undefined} data-change={changeState} tabIndex={-1}>
      {first && !mine && chat.user && <Author user={chat.user} />}
      {first && whisper && <span class="whisper-tag">🤫 {whisper}</span>}
      <Toolbar chat={chat} me={me} />
      <div class="bubble">
        <Quote chat={chat} />
        {chat.deleted ? <span class="text tombstone" data-testid="tombstone">{d.deletedMessage}</span>
          : gif ? <GifView gif={gif} author={chat.user?.name ?? ""} />
          : editing ? <EditBox chat={edit ? { ...chat, text } : chat} />
          : <LinkedText text={text} />}
        <span class="meta">
          {status ? <span class="status" role="status">{status}</span>
            : (chat.edited_at || edit) && !chat.deleted && <span class="edited" title={chat.edited_at ? formatDateTime(chat.edited_at, lang) : undefined} data-testid="edited">{d.edited}</span>}
          <time dateTime={chat.created_at} title={formatDateTime(chat.created_at, lang)}>{formatTime(chat.created_at, lang)}</time>
          {mine && !status && <span class="tick" aria-label={d.sent} title={d.sent}>✓</span>}
        </span>
      </div>
      {editing && gif && <AltEditBox chat={chat} alt={gif.alt ?? ""} />}
      <Reactions chat={chat} me={me} pending={pending.reactions} />
      {edit?.state === "failed" && <FailedChange change={edit} text={d.notSaved} chat={chat} />}
      {altEdit?.state === "failed" && <FailedChange change={altEdit} text={d.altNotSaved} chat={chat} />}
      {removal?.state === "failed" && <FailedChange change={removal} text={d.notDeleted} chat={chat} />}
      {pending.reactions.filter((r) => r.state === "failed").map((r) => (
        <FailedChange key={r.emoji} change={r} text={d.reactionFailed(r.emoji)} chat={chat} />
      ))}
    </li>
  );
}

/** A message not yet confirmed by the server: pending, waiting or failed. */
export function OutgoingRow({ item, first, lang, onRetry, onDiscard }: {
  item: Outgoing;
  first: boolean;
  lang: Lang;
  onRetry: () => void;
  onDiscard: () => void;
}) {
  const d = t();
  const l = limits.get();
  const whisper = item.kind === "text" && item.to ? d.whisperToLine(item.to.name) : null;
  const failed = item.state === "failed";
  const status = failed ? d.notSent : item.waiting ? d.waitingToSend : d.sending;
  return (
    <li class={`msg mine outgoing${whisper ? " whisper" : ""}${first ? " first" : ""}${failed ? " failed" : ""}${item.kind !== "text" ? " has-gif" : ""}`}
      data-testid="message" data-state={failed ? "failed" : "pending"} data-client-id={item.client_id}>
      {first && whisper && <span class="whisper-tag">🤫 {whisper}</span>}
      <div class="bubble">
        {item.kind === "text" ? <LinkedText text={item.text} />
          : item.kind === "gif" ? <PendingGif preview={item.preview} progress={item.progress} alt={item.alt ?? ""} />
          : <PendingGif preview={item.gif.poster ?? item.gif.url} progress={null} alt={item.gif.alt ?? ""} />}
        <span class="meta">
          <time dateTime={item.created_at}>{formatTime(item.created_at, lang)}</time>
          <span class="status" role="status">{status}</span>
        </span>
      </div>
      {/* Waiting for a server that does not come back: it may be dropped. */}
      {!failed && item.waiting && (
        <div class="outgoing-actions">
          <button type="button" class="link danger" onClick={onDiscard}>{d.discard}</button>
        </div>
      )}
      {failed && (
        <div class="outgoing-actions">
          {item.error && <span class="error small">{problemText(item.error, { textMax: l.text_max_chars, altMax: l.alt_max_chars })}</span>}
          {/* What the server refused for what it is would be refused again. */}
          {canRetry(item.error) && <button type="button" class="link" onClick={onRetry}>{d.retry}</button>}
          <button type="button" class="link danger" onClick={onDiscard}>{d.discard}</button>
        </div>
      )}
    </li>
  );
}

function PendingGif({ preview, progress, alt }: { preview: string; progress: number | null; alt: string }) {
  const d = t();
  return (
    <div class="pending-gif">
      <img src={preview} alt={alt} />
      {progress !== null && <progress max={1} value={progress} aria-label={d.uploading} data-testid="upload-progress" />}
    </div>
  );
}
