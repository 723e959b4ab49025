// GIF descriptions: before a GIF goes up, the file chosen, dropped or
// pasted, shown with a field for its description (optional), Send or
// Cancel; and a description edited under a GIF already sent. Loaded the
// first time either is needed.
import { useContext, useEffect, useId, useRef, useState } from "preact/hooks";
import type { Chat } from "../api/client";
import { Dialog } from "../dialog";
import { t } from "../i18n";
import { limits } from "../session";
import { useValue } from "../store";
import { Actions } from "./actions";
import { fitBox, reducedMotion, Still } from "./gif";

/** The largest preview, in CSS pixels. */
const PREVIEW_BOX = 240;

export function GifUploadDialog({ file, onSend, onCancel }: {
  file: File;
  /** With the description as typed, trimmed ("" for none). */
  onSend: (alt: string) => void;
  onCancel: () => void;
}) {
  const d = t();
  const [alt, setAlt] = useState("");
  const preview = usePreview(file);
  const send = () => onSend(alt.trim());
  return (
    <Dialog open onClose={onCancel} label={d.sendGifTitle} class="gif-upload">
      <form method="dialog" class="stack" data-testid="gif-upload" onSubmit={(e) => { e.preventDefault(); send(); }}>
        <h2>{d.sendGifTitle}</h2>
        <Preview file={file} url={preview.url} size={preview.size} alt={alt.trim()} />
        <AltField value={alt} onChange={setAlt} onEnter={send} hint={d.altHint} testId="gif-alt" />
        <div class="row end">
          <button type="button" class="secondary" onClick={onCancel}>{d.cancel}</button>
          <button type="submit" data-testid="gif-send">{d.send}</button>
        </div>
      </form>
    </Dialog>
  );
}

/** An object URL for the file while the dialog shows it, and its size once known. */
function usePreview(file: File): { url: string | null; size: { width: number; height: number } | null } {
  const [url, setUrl] = useState<string | null>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  useEffect(() => {
    const u = URL.createObjectURL(file);
    setUrl(u);
    setSize(null);
    let live = true;
    const probe = new Image();
    probe.onload = () => live && setSize({ width: probe.naturalWidth, height: probe.naturalHeight });
    probe.src = u;
    return () => {
      live = false;
      URL.revokeObjectURL(u);
    };
  }, [file]);
  return { url, size };
}

/** The file as it will look: still under reduced motion. */
function Preview({ file, url, size, alt }: { file: File; url: string | null; size: { width: number; height: number } | null; alt: string }) {
  const reduced = useValue(reducedMotion);
  if (!url || !size) return <div class="gif-upload-preview" aria-hidden="true" />;
  const box = fitBox(size.width, size.height, PREVIEW_BOX);
  return (
    <div class="gif-upload-preview" style={{ width: `${box.width}px`, aspectRatio: `${size.width} / ${size.height}` }}>
      {reduced
        ? <Still source={file} width={box.width} height={box.height} alt={alt} />
        : <img class="gif-media" src={url} width={box.width} height={box.height} alt={alt} />}
    </div>
  );
}

/** A GIF's description, edited in place under it: Enter saves, Escape cancels. */
export function AltEditBox({ chat, alt }: { chat: Chat; alt: string }) {
  const d = t();
  const actions = useContext(Actions);
  const [text, setText] = useState(alt);
  const save = () => {
    if (!actions) return;
    const body = text.trim();
    if (body !== alt) actions.saveAlt(chat, body);
    actions.setEditing(null);
  };
  return (
    <div class="edit-box alt-edit">
      <AltField value={text} onChange={setText} onEnter={save} onEscape={() => actions?.setEditing(null)} hint={d.editHint} testId="alt-input" />
    </div>
  );
}

/** How many characters are left, once that is worth saying. */
export function CharsLeft({ used, max }: { used: number; max: number }) {
  const left = max - used;
  if (left > Math.min(50, max / 5)) return null;
  return <span class={`small ${left < 0 ? "error" : "hint"}`} aria-live="polite" data-testid="chars-left">{t().charsLeft(left)}</span>;
}

/** A GIF's description being written: one paragraph (a new line is a
 *  space), at most the server's limit, Enter to finish. */
export function AltField({ value, onChange, onEnter, onEscape, hint, testId }: {
  value: string;
  onChange: (value: string) => void;
  onEnter: () => void;
  /** Escape, where no dialog takes it. */
  onEscape?: () => void;
  hint?: string;
  testId?: string;
}) {
  const d = t();
  const max = useValue(limits).alt_max_chars;
  const box = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  useEffect(() => {
    box.current?.focus();
    box.current?.select();
  }, []);
  return (
    <div class="alt-field">
      <label class="field">
        <span>{d.altLabel}</span>
        <textarea ref={box} rows={2} value={value} maxLength={max} aria-describedby={hint ? hintId : undefined} data-testid={testId}
          onInput={(e) => onChange((e.currentTarget as HTMLTextAreaElement).value.replace(/\r?\n/g, " "))}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.isComposing) { e.preventDefault(); onEnter(); }
            else if (e.key === "Escape" && onEscape) { e.preventDefault(); e.stopPropagation(); onEscape(); }
          }} />
      </label>
      <div class="alt-notes">
        {hint && <span id={hintId} class="hint small">{hint}</span>}
        <CharsLeft used={value.length} max={max} />
      </div>
    </div>
  );
}
