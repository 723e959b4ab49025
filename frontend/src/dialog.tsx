import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "./i18n";

/** A modal `<dialog>`: focus is trapped, Escape closes it, and focus goes
 *  back to what had it before it opened. */
export function Dialog({ open, onClose, label, children, class: cls }: {
  open: boolean;
  onClose: () => void;
  label: string;
  children: ComponentChildren;
  class?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const restore = () => {
    const back = opener.current;
    opener.current = null;
    if (back instanceof HTMLElement && back.isConnected) back.focus();
  };
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (open && !el.open) {
      opener.current = document.activeElement;
      el.showModal();
    }
    if (!open && el.open) el.close();
    if (!open) restore();
  }, [open]);
  // A dialog that goes away while open (its owner unmounts it) gives the
  // focus back too; it must close first, as a modal makes the page inert.
  useEffect(() => {
    const el = ref.current;
    return () => {
      if (el?.open) el.close();
      restore();
    };
  }, []);
  return (
    <dialog ref={ref} aria-label={label} class={cls} onClose={onClose} onCancel={(e) => { e.preventDefault(); onClose(); }}>
      {open && children}
    </dialog>
  );
}

/** Asks for a secret room's password; it is sent in a request body, never put in the URL. */
export function PasswordDialog({ title, error, onClose, onSubmit }: {
  /** The room's title; null keeps the dialog closed. */
  title: string | null;
  error: string | null;
  onClose: () => void;
  onSubmit: (password: string) => void;
}) {
  const [password, setPassword] = useState("");
  const d = t();
  useEffect(() => setPassword(""), [title]);
  const heading = title ? d.passwordFor(title) : d.password;
  return (
    <Dialog open={title !== null} onClose={onClose} label={heading}>
      <form method="dialog" class="stack" onSubmit={(e) => { e.preventDefault(); onSubmit(password); }}>
        <h2>{heading}</h2>
        <label class="field">
          <span>{d.password}</span>
          <input type="password" name="password" required autoFocus value={password} autoComplete="off"
            onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <div class="row end">
          <button type="button" class="secondary" onClick={onClose}>{d.cancel}</button>
          <button type="submit">{d.enter}</button>
        </div>
      </form>
    </Dialog>
  );
}

export interface Confirmation {
  title: string;
  body: string;
  confirm: string;
  run: () => Promise<unknown> | void;
}

/** Asks before something that cannot be undone. Cancel has the focus, so
 *  Enter alone never confirms. */
export function ConfirmDialog({ ask, onClose }: { ask: Confirmation | null; onClose: () => void }) {
  const d = t();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog open={ask !== null} onClose={onClose} label={ask?.title ?? ""}>
      {ask && (
        <div class="stack" role="document">
          <h2>{ask.title}</h2>
          <p class="muted">{ask.body}</p>
          <div class="row end">
            <button type="button" class="secondary" autoFocus onClick={onClose}>{d.cancel}</button>
            <button type="button" class="danger" disabled={busy} onClick={async () => {
              setBusy(true);
              try {
                await ask.run();
              } finally {
                setBusy(false);
                onClose();
              }
            }}>{ask.confirm}</button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
