import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "./i18n";

/** A modal `<dialog>`: focus is trapped, Escape closes it. */
export function Dialog({ open, onClose, label, children }: {
  open: boolean;
  onClose: () => void;
  label: string;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (open && !el.open) el.showModal();
    if (!open && el.open) el.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-label={label} onClose={onClose} onCancel={onClose}>
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
