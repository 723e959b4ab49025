// One line of the timeline: a chat, a system line, or a message on its way out.
import type { Chat, User } from "../api/client";
import { useNameColor } from "../colors";
import { formatDateTime, formatTime, linkPieces } from "../format";
import { problemText, t, type Lang } from "../i18n";
import type { Outgoing } from "../outbox";
import { limits } from "../session";
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

/** A chat from the server. `first` starts a group: the author's name shows. */
export function MessageRow({ chat, me, first, lang }: { chat: Chat; me: User; first: boolean; lang: Lang }) {
  const d = t();
  const mine = chat.user?.id === me.id;
  const whisper = chat.to ? (mine ? d.whisperToLine(chat.to.name) : d.whisperFrom(chat.user?.name ?? "")) : null;
  const cls = `msg${mine ? " mine" : ""}${whisper ? " whisper" : ""}${first ? " first" : ""}${chat.gif ? " has-gif" : ""}`;
  return (
    <li class={cls} data-seq={chat.seq} data-testid="message" data-state={mine ? "sent" : undefined}>
      {first && !mine && chat.user && <Author user={chat.user} />}
      {first && whisper && <span class="whisper-tag">🤫 {whisper}</span>}
      <div class="bubble">
        {chat.gif ? <GifView gif={chat.gif} author={chat.user?.name ?? ""} /> : <LinkedText text={chat.text ?? ""} />}
        <span class="meta">
          <time dateTime={chat.created_at} title={formatDateTime(chat.created_at, lang)}>{formatTime(chat.created_at, lang)}</time>
          {mine && <span class="tick" aria-label={d.sent} title={d.sent}>✓</span>}
        </span>
      </div>
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
