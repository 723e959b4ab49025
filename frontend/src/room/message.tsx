// One line of the timeline: a chat, a system line, or a message on its way out.
import type { Chat, User } from "../api/client";
import { useNameColor } from "../colors";
import { formatDateTime, formatTime, linkPieces } from "../format";
import { problemText, t, type Lang } from "../i18n";
import type { Outgoing } from "../outbox";
import { limits } from "../session";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { Actions, QUICK_EMOJIS } from "./actions";
import { GifView } from "./gif";

export function LinkedText({ text }: { text: string }) {
  return (
    <span class="text">
      {linkPieces(text).map((p, i) =>
        p.href ? (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer">{p.text}</a>
        ) : (
          p.text
        ),
      )}
    </span>
  );
}

export function SystemLine({ chat, me }: { chat: Chat; me: User }) {
  const d = t();
  const self = chat.subject?.id === me.id;
  const name = chat.subject?.name ?? "";
  const text = chat.event === "joined" ? (self ? d.joinedSelf : d.joined(name))
    : chat.event === "left" ? (self ? d.leftSelf : d.left(name))
    : chat.event === "kicked" ? (self ? d.kickedSelf : d.kickedLine(name))
    : chat.event === "owner_changed" ? (self ? d.ownerChangedSelf : d.ownerChanged(name)) : "";
  return <li class="system" data-seq={chat.seq}>{text}</li>;
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

function Reactions({ chat, me }: { chat: Chat; me: User }) {
  const actions = useContext(Actions);
  if (chat.reactions.length === 0) return null;
  return (
    <div class="reactions" data-testid="reactions">
      {chat.reactions.map((r) => {
        const mine = r.user_ids.includes(me.id);
        return (
          <button key={r.emoji} type="button" class={`reaction${mine ? " mine" : ""}`} aria-pressed={mine}
            data-testid="reaction" onClick={() => actions?.toggleReaction(chat, r.emoji)}>
            <span aria-hidden="true">{r.emoji}</span> {r.count}
            <span class="sr-only">{r.emoji}</span>
          </button>
        );
      })}
    </div>
  );
}

/** Reply, react, edit and delete: shown on hover, focus or a long press. */
function Toolbar({ chat, me }: { chat: Chat; me: User }) {
  const d = t();
  const actions = useContext(Actions);
  const [picking, setPicking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  if (!actions || chat.deleted) return null;
  const mine = chat.user?.id === me.id;
  return (
    <div class="msg-tools" role="toolbar" aria-label={d.reactAction} data-testid="msg-tools">
      <button type="button" class="icon" title={d.replyAction} aria-label={d.replyAction} onClick={() => actions.reply(chat)}>↩</button>
      <button type="button" class="icon" title={d.reactAction} aria-label={d.reactAction} aria-expanded={picking} onClick={() => setPicking((p) => !p)}>☺</button>
      {mine && chat.kind === "text" && (
        <button type="button" class="icon" title={d.editAction} aria-label={d.editAction} onClick={() => actions.setEditing(chat.seq)}>✎</button>
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
        </div>
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
  const save = async () => {
    if (!actions) return;
    const body = text.trim();
    if (!body || body === chat.text) { actions.setEditing(null); return; }
    if (await actions.saveEdit(chat, body)) actions.setEditing(null);
  };
  return (
    <div class="edit-box">
      <textarea ref={box} value={text} aria-label={d.editAction} data-testid="edit-input"
        onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); void save(); }
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
  const whisper = chat.to ? (mine ? d.whisperToLine(chat.to.name) : d.whisperFrom(chat.user?.name ?? "")) : null;
  const editing = actions?.editingSeq === chat.seq && !chat.deleted;
  const cls = `msg${mine ? " mine" : ""}${whisper ? " whisper" : ""}${first ? " first" : ""}${chat.gif ? " has-gif" : ""}${chat.deleted ? " deleted" : ""}`;
  return (
    <li class={cls} data-seq={chat.seq} data-testid="message" data-state={mine ? "sent" : undefined} tabIndex={-1}>
      {first && !mine && chat.user && <Author user={chat.user} />}
      {first && whisper && <span class="whisper-tag">🤫 {whisper}</span>}
      <Toolbar chat={chat} me={me} />
      <div class="bubble">
        <Quote chat={chat} />
        {chat.deleted ? <span class="text tombstone" data-testid="tombstone">{d.deletedMessage}</span>
          : editing ? <EditBox chat={chat} />
          : chat.gif ? <GifView gif={chat.gif} author={chat.user?.name ?? ""} /> : <LinkedText text={chat.text ?? ""} />}
        <span class="meta">
          {chat.edited_at && !chat.deleted && <span class="edited" title={formatDateTime(chat.edited_at, lang)} data-testid="edited">{d.edited}</span>}
          <time dateTime={chat.created_at} title={formatDateTime(chat.created_at, lang)}>{formatTime(chat.created_at, lang)}</time>
          {mine && <span class="tick" aria-label={d.sent} title={d.sent}>✓</span>}
        </span>
      </div>
      <Reactions chat={chat} me={me} />
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
    <li class={`msg mine outgoing${whisper ? " whisper" : ""}${first ? " first" : ""}${failed ? " failed" : ""}${item.kind === "gif" ? " has-gif" : ""}`}
      data-testid="message" data-state={failed ? "failed" : "pending"} data-client-id={item.client_id}>
      {first && whisper && <span class="whisper-tag">🤫 {whisper}</span>}
      <div class="bubble">
        {item.kind === "text" ? <LinkedText text={item.text} /> : <PendingGif preview={item.preview} progress={item.progress} />}
        <span class="meta">
          <time dateTime={item.created_at}>{formatTime(item.created_at, lang)}</time>
          <span class="status" role="status">{status}</span>
        </span>
      </div>
      {failed && (
        <div class="outgoing-actions">
          {item.error && <span class="error small">{problemText(item.error, { textMax: l.text_max_chars })}</span>}
          <button type="button" class="link" onClick={onRetry}>{d.retry}</button>
          <button type="button" class="link danger" onClick={onDiscard}>{d.discard}</button>
        </div>
      )}
    </li>
  );
}

function PendingGif({ preview, progress }: { preview: string; progress: number | null }) {
  const d = t();
  return (
    <div class="pending-gif">
      <img src={preview} alt="" />
      {progress !== null && <progress max={1} value={progress} aria-label={d.uploading} data-testid="upload-progress" />}
    </div>
  );
}
