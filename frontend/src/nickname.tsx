import { useState } from "preact/hooks";
import { ApiError, api, type User } from "./api/client";
import { t } from "./i18n";

export function NicknameEditor({ me, onSaved }: { me: User; onSaved: (u: User) => void }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(me.name);
  const [error, setError] = useState<string | null>(null);
  const d = t();

  if (!editing) {
    return (
      <button class="me" type="button" onClick={() => { setValue(me.name); setEditing(true); }} title={d.nickname}>
        <span class="dot" style={{ background: me.color }} aria-hidden="true" />
        <span data-testid="my-name">{me.name}</span>
      </button>
    );
  }
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const { data } = await api.PATCH("/api/me", { body: { nickname: value } });
      if (data) onSaved(data.user);
      setEditing(false);
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError ? (err.fields.nickname ?? err.message) : d.genericError);
    }
  };
  return (
    <form class="nickname" onSubmit={save}>
      <label>
        <span class="sr-only">{d.nickname}</span>
        <input value={value} maxLength={32} autoFocus aria-invalid={error ? true : undefined}
          onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === "Escape" && setEditing(false)} />
      </label>
      <button type="submit">{d.save}</button>
      {error && <span class="field-error" role="alert">{error}</span>}
    </form>
  );
}
