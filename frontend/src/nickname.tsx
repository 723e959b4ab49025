import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, type User } from "./api/client";
import { useNameColor } from "./colors";
import { Dialog } from "./dialog";
import { fieldText, t } from "./i18n";
import { limits } from "./session";
import { useValue } from "./store";

/** Saves a nickname; the error text for the field when it is refused. */
async function saveNickname(nickname: string): Promise<{ user?: User; error?: string }> {
  try {
    const { data } = await api.PATCH("/api/me", { body: { nickname } });
    return data ? { user: data.user } : {};
  } catch (err) {
    const max = limits.get().nickname_max_chars;
    if (err instanceof ApiError && err.fields.nickname) return { error: fieldText("nickname", err.fields.nickname, { nicknameMax: max }) };
    return { error: t().genericError };
  }
}

export function NicknameEditor({ me, onSaved }: { me: User; onSaved: (u: User) => void }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(me.name);
  const [error, setError] = useState<string | null>(null);
  const max = useValue(limits).nickname_max_chars;
  const color = useNameColor(me.color);
  const d = t();
  const field = useRef<HTMLInputElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const reopened = useRef(false);
  // Opened: the field takes the focus with the name selected, ready to be
  // typed over. Closed again: the focus goes back to the name.
  useEffect(() => {
    if (editing) {
      field.current?.focus();
      field.current?.select();
      reopened.current = true;
    } else if (reopened.current) {
      reopened.current = false;
      opener.current?.focus();
    }
  }, [editing]);
  const cancel = () => { setEditing(false); setError(null); };

  if (!editing) {
    return (
      <button ref={opener} class="me" type="button" onClick={() => { setValue(me.name); setEditing(true); }} title={d.nickname}>
        <span class="dot" style={{ background: me.color }} aria-hidden="true" />
        <span data-testid="my-name" class="my-name" style={{ color }}>{me.name}</span>
      </button>
    );
  }
  const save = async (e: Event) => {
    e.preventDefault();
    const out = await saveNickname(value);
    if (out.user) {
      onSaved(out.user);
      setEditing(false);
      setError(null);
    } else {
      setError(out.error ?? null);
    }
  };
  return (
    <form class="nickname" onSubmit={save}>
      <label>
        <span class="sr-only">{d.nickname}</span>
        <input ref={field} value={value} maxLength={max} aria-invalid={error ? true : undefined} data-testid="nickname-input"
          onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
          onKeyDown={(e) => { if (e.key === "Escape") { e.preventDefault(); cancel(); } }} />
      </label>
      <button type="submit">{d.save}</button>
      {error && <span class="field-error" role="alert">{error}</span>}
    </form>
  );
}

/** On a first visit, asks for a name instead of leaving a colour code. */
export function WelcomeDialog({ open, onSaved, onSkip }: { open: boolean; onSaved: (u: User) => void; onSkip: () => void }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const max = useValue(limits).nickname_max_chars;
  const d = t();
  return (
    <Dialog open={open} onClose={onSkip} label={d.welcomeTitle}>
      <form class="stack" onSubmit={async (e) => {
        e.preventDefault();
        const out = await saveNickname(value);
        if (out.user) onSaved(out.user);
        else setError(out.error ?? null);
      }}>
        <h2>{d.welcomeTitle}</h2>
        <p class="muted">{d.welcomeBody}</p>
        <label class="field">
          <span>{d.nickname}</span>
          <input name="nickname" value={value} maxLength={max} autoFocus required autoComplete="nickname"
            aria-invalid={error ? true : undefined}
            onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)} />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <div class="row end">
          <button type="button" class="secondary" onClick={onSkip}>{d.welcomeSkip}</button>
          <button type="submit">{d.welcomeSave}</button>
        </div>
      </form>
    </Dialog>
  );
}
