// Writing: text (Enter sends, Shift+Enter a new line), GIFs by button, drop
// or paste (each asked for a description first) or from the picker, and
// whispers shown as a bar that says who they go to.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { Chat, Gif, User } from "../api/client";
import { useNameColor } from "../colors";
import { formatBytes } from "../format";
import { t, type Lang } from "../i18n";
import type { Outbox } from "../outbox";
import { limits } from "../session";
import type { SocketClient, Status } from "../socket";
import { mediaQuery, useValue } from "../store";
// The GIF picker and the upload dialog are what a GIF chat is for: in the
// first download (about 1 kB compressed), so they open offline too.
import { GifPicker } from "./gif-picker";
import { GifUploadDialog } from "./gif-upload";

const narrowScreen = mediaQuery("(max-width: 760px)");
/** How long without a dragover means a drag has left the page. */
const DRAG_QUIET_MS = 1000;

/** Whether the file's first bytes are a GIF signature. */
async function isGifData(file: Blob): Promise<boolean> {
  try {
    const head = new Uint8Array(await file.slice(0, 6).arrayBuffer());
    const sig = String.fromCharCode(...head);
    return sig === "GIF87a" || sig === "GIF89a";
  } catch {
    return false;
  }
}

export function Composer({ roomId, socket, outbox, status, whisperTo, onStopWhisper, replyTo, onStopReply, onEditLast, onSent, roomGifs, lang }: {
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
  /** The GIFs of the loaded timeline, newest first, each once: the picker's first row. */
  roomGifs: Gif[];
  lang: Lang;
}) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const lastTyping = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const pickerButton = useRef<HTMLButtonElement>(null);
  const [chosen, setChosen] = useState<File | null>(null);
  const [picking, setPicking] = useState(false);
  const closePicker = useCallback(() => setPicking(false), []);
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
    // Measured at its natural height while the row around it keeps its
    // size, so the message list above never grows for a moment (and loses
    // its place at the bottom) while the box is measured.
    const row = el.parentElement;
    if (row) row.style.minHeight = `${row.offsetHeight}px`;
    el.style.height = "";
    // Empty, it is one line whatever the placeholder would wrap to.
    if (text) el.style.height = `${el.scrollHeight + 2}px`;
    if (row) row.style.minHeight = "";
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

  const upload = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    // A GIF is never a whisper: it would go to the whole room.
    if (whisperTo) {
      setError(d.noGifWhisper);
      return;
    }
    if (file.type && file.type !== "image/gif") {
      setError(d.notAGif);
      return;
    }
    if (file.size > l.gif_max_bytes) {
      setError(d.tooLargeLimit(formatBytes(l.gif_max_bytes, lang)));
      return;
    }
    // What a file is called says nothing: a GIF starts "GIF87a" or "GIF89a".
    if (!(await isGifData(file))) {
      setError(d.notGifData(file.name));
      return;
    }
    setPicking(false);
    setChosen(file);
  };

  // A file dragged anywhere over the room is dropped into it: the whole
  // window takes it (so a drop beside the composer never opens the file in
  // place of the app), and the room's pane shows where it goes. Enter and
  // leave are counted, as they fire for every element crossed.
  const form = useRef<HTMLFormElement>(null);
  const latestUpload = useRef(upload);
  latestUpload.current = upload;
  useEffect(() => {
    const carriesFiles = (e: DragEvent) => e.dataTransfer?.types.includes("Files") ?? false;
    let depth = 0;
    // A drag over the page sends dragover many times a second; when they
    // stop, the drag has gone, even if the counting missed its leave (an
    // element under the pointer that re-rendered).
    let quiet: ReturnType<typeof setTimeout> | undefined;
    const end = () => { clearTimeout(quiet); depth = 0; setDragging(false); };
    const stillHere = () => { clearTimeout(quiet); quiet = setTimeout(end, DRAG_QUIET_MS); };
    const onEnter = (e: DragEvent) => { if (carriesFiles(e)) { depth++; setDragging(true); stillHere(); } };
    const onLeave = (e: DragEvent) => { if (carriesFiles(e) && (--depth <= 0 || e.relatedTarget === null)) end(); };
    const onOver = (e: DragEvent) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      setDragging(true);
      stillHere();
      if (e.dataTransfer) e.dataTransfer.dropEffect = document.querySelector("dialog[open]") ? "none" : "copy";
    };
    const onDrop = (e: DragEvent) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      end();
      if (!document.querySelector("dialog[open]")) void latestUpload.current(e.dataTransfer?.files[0]);
    };
    window.addEventListener("dragenter", onEnter);
    window.addEventListener("dragleave", onLeave);
    window.addEventListener("dragover", onOver);
    window.addEventListener("drop", onDrop);
    return () => {
      clearTimeout(quiet);
      window.removeEventListener("dragenter", onEnter);
      window.removeEventListener("dragleave", onLeave);
      window.removeEventListener("dragover", onOver);
      window.removeEventListener("drop", onDrop);
    };
  }, []);
  useEffect(() => {
    const pane = form.current?.closest<HTMLElement>(".messages-pane");
    if (!pane) return;
    pane.classList.toggle("dropping", dragging);
    pane.dataset.dropHint = whisperTo ? d.noGifWhisper : d.dropGif;
  }, [dragging, whisperTo, d]);

  const sendChosen = (alt: string) => {
    if (!chosen) return;
    outbox.addGif(roomId, chosen, replyTo?.seq ?? null, alt || null);
    setChosen(null);
    onSent();
  };

  const repost = (gif: Gif) => {
    setError(null);
    setPicking(false);
    outbox.addRepost(roomId, gif, replyTo?.seq ?? null);
    onSent();
    box.current?.focus();
  };

  return (
    <>
      <form ref={form} class={`composer${whisperTo ? " whispering" : ""}`} onSubmit={(e) => { e.preventDefault(); send(); }}>
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
            onChange={(e) => { const input = e.currentTarget as HTMLInputElement; void upload(input.files?.[0]); input.value = ""; }} />
          <span class="gif-tools">
            <button type="button" class="secondary gif-button" onClick={() => fileInput.current?.click()} aria-label={d.addGifLabel} title={whisperTo ? d.noGifWhisper : d.addGifLabel}
              disabled={!!whisperTo}>{d.addGif}</button>
            <button ref={pickerButton} type="button" class="secondary gif-button" aria-label={d.findGif} title={whisperTo ? d.noGifWhisper : d.findGif}
              disabled={!!whisperTo}
              aria-haspopup="dialog" aria-expanded={picking} data-testid="gif-picker-open" onClick={() => setPicking((p) => !p)}>
              <span aria-hidden="true">🔎</span>
            </button>
          </span>
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
                if (file) { e.preventDefault(); void upload(file); }
              }} />
          </label>
          <button type="submit" class="send">{d.send}</button>
        </div>
      </form>
      {/* Outside the form: their own fields and submits are not the composer's. */}
      {picking && <GifPicker anchor={pickerButton.current} roomGifs={roomGifs} onPick={repost} onClose={closePicker} />}
      {chosen && <GifUploadDialog file={chosen} onSend={sendChosen} onCancel={() => setChosen(null)} />}
    </>
  );
}
