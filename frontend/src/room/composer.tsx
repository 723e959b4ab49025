// Writing: text (Enter sends, Shift+Enter a new line), GIFs by button, drop
// or paste, and whispers shown as a bar that says who they go to.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Chat, User } from "../api/client";
import { useNameColor } from "../colors";
import { formatBytes } from "../format";
import { t, type Lang } from "../i18n";
import type { Outbox } from "../outbox";
import { limits } from "../session";
import type { SocketClient, Status } from "../socket";
import { mediaQuery, useValue } from "../store";

const narrowScreen = mediaQuery("(max-width: 760px)");

export function Composer({ roomId, socket, outbox, status, whisperTo, onStopWhisper, replyTo, onStopReply, onEditLast, onSent, lang }: {
  roomId: string;
  socket: SocketClient;
  outbox: Outbox;
  status: Status;
  whisperTo: User | null;
  onStopWhisper: () => void;
  /** The chat the next message answers. */
  replyTo: Chat | null;
  onStopReply: () => void;
  /** The Up arrow in an empty box: edit my last message. */
  onEditLast: () => void;
  onSent: () => void;
  lang: Lang;
}) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const lastTyping = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const l = useValue(limits);
  const whisperColor = useNameColor(whisperTo?.color);
  const d = t();

  // An error about the last attempt means nothing once the connection is back.
  useEffect(() => {
    if (status === "open") setError(null);
  }, [status]);

  // The box grows with what is typed, up to its CSS max-height.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = "";
    // Empty, it is one line whatever the placeholder would wrap to.
    if (text) el.style.height = `${el.scrollHeight + 2}px`;
  }, [text]);
  const narrow = useValue(narrowScreen);

  const send = () => {
    const body = text.trim();
    if (!body) return;
    setError(null);
    outbox.addText(roomId, body, whisperTo, replyTo?.seq ?? null);
    setText("");
    // Others stop showing us as typing when our message lands; the next
    // keystroke must tell them again straight away.
    lastTyping.current = 0;
    onSent();
  };

  const upload = (file: File | undefined) => {
    if (!file) return;
    setError(null);
    if (file.type && file.type !== "image/gif") {
      setError(d.notAGif);
      return;
    }
    if (file.size > l.gif_max_bytes) {
      setError(d.tooLargeLimit(formatBytes(l.gif_max_bytes, lang)));
      return;
    }
    outbox.addGif(roomId, file, replyTo?.seq ?? null);
    onSent();
  };

  return (
    <form class={`composer${dragging ? " dragging" : ""}${whisperTo ? " whispering" : ""}`} onSubmit={(e) => { e.preventDefault(); send(); }}
      onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => { e.preventDefault(); setDragging(false); upload(e.dataTransfer?.files[0]); }}>
      {dragging && <div class="drop-hint">{d.dropGif}</div>}
      {status !== "open" && <p class="hint small" data-testid="offline-hint">{d.offlineHint}</p>}
      {error && <p class="error" role="alert" data-testid="composer-error">{error}</p>}
      {whisperTo && (
        <div class="whisper-bar" data-testid="whisper-bar">
          <span>🤫 {d.whisperingTo[0]}<strong style={{ color: whisperColor }}>{whisperTo.name}</strong>{d.whisperingTo[1]}</span>
          <button type="button" class="icon" onClick={onStopWhisper} aria-label={d.stopWhisper} title={d.stopWhisper}>✕</button>
        </div>
      )}
      {replyTo && (
        <div class="reply-bar" data-testid="reply-bar">
          <span>↩ {d.replyingTo(replyTo.user?.name ?? "")}: <em>{replyTo.deleted ? d.deletedMessage : replyTo.text ?? d.gifExcerpt}</em></span>
          <button type="button" class="icon" onClick={onStopReply} aria-label={d.stopReplying} title={d.stopReplying}>✕</button>
        </div>
      )}
      <div class="composer-row">
        <input ref={fileInput} type="file" accept="image/gif" class="sr-only" tabIndex={-1} data-testid="gif-input"
          onChange={(e) => { const input = e.currentTarget as HTMLInputElement; upload(input.files?.[0]); input.value = ""; }} />
        <button type="button" class="secondary gif-button" onClick={() => fileInput.current?.click()} aria-label={d.addGifLabel} title={d.addGifLabel}>{d.addGif}</button>
        <label class="grow">
          <span class="sr-only">{d.messageLabel}</span>
          <textarea ref={box} rows={1} value={text} maxLength={l.text_max_chars} placeholder={narrow ? d.messageLabel : d.messagePlaceholder} data-testid="composer-input"
            onInput={(e) => {
              setText((e.currentTarget as HTMLTextAreaElement).value);
              if (Date.now() - lastTyping.current > 2000) {
                lastTyping.current = Date.now();
                socket.typing(roomId);
              }
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                send();
              } else if (e.key === "Escape" && replyTo) {
                onStopReply();
              } else if (e.key === "Escape" && whisperTo) {
                onStopWhisper();
              } else if (e.key === "ArrowUp" && !text) {
                e.preventDefault();
                onEditLast();
              }
            }}
            onPaste={(e) => {
              const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
              if (file) { e.preventDefault(); upload(file); }
            }} />
        </label>
        <button type="submit" class="send">{d.send}</button>
      </div>
    </form>
  );
}
