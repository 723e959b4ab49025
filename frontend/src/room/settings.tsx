import { useEffect, useState } from "preact/hooks";
import { api, ApiError, errorCode, type Room } from "../api/client";
import { Dialog } from "../dialog";
import { errorText, fieldText, t } from "../i18n";

/** The owner's room settings: title, capacity, password and keep. Only
 *  what changed is sent; the room comes back as the server now has it. */
export function RoomSettings({ room, open, onClose, onSaved }: {
  room: Room;
  open: boolean;
  onClose: () => void;
  onSaved: (room: Room) => void;
}) {
  const d = t();
  const [title, setTitle] = useState(room.title);
  const [capacity, setCapacity] = useState(String(room.max_members));
  const [lock, setLock] = useState<"keep" | "set" | "clear">("keep");
  const [password, setPassword] = useState("");
  const [keep, setKeep] = useState(room.keep);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!open) return;
    setTitle(room.title);
    setCapacity(String(room.max_members));
    setLock("keep");
    setPassword("");
    setKeep(room.keep);
    setFields({});
    setError(null);
  }, [open]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setFields({});
    setError(null);
    const body: { title?: string; max_members?: number; password?: string; keep?: boolean } = {};
    if (title.trim() !== room.title) body.title = title;
    const max = Number(capacity);
    if (max !== room.max_members) {
      if (!Number.isInteger(max) || max < 2 || max > 1000) return setFields({ max_members: fieldText("max_members", "") });
      body.max_members = max;
    }
    if (lock === "set") {
      if (!password) return setFields({ password: d.passwordNeeded });
      body.password = password;
    }
    if (lock === "clear") body.password = "";
    if (keep !== room.keep) body.keep = keep;
    if (!Object.keys(body).length) return onClose();
    setBusy(true);
    try {
      const { data } = await api.PATCH("/api/rooms/{id}", { params: { path: { id: room.id } }, body });
      if (data) onSaved(data.room);
      onClose();
    } catch (err) {
      if (err instanceof ApiError && err.code === "validation_failed") {
        setFields(Object.fromEntries(Object.entries(err.fields).map(([f, m]) => [f, fieldText(f, m)])));
      } else if (err instanceof ApiError && err.code === "room_full") {
        setFields({ max_members: d.capacityBelowPresent(room.member_count) });
      } else {
        setError(errorText(errorCode(err)));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onClose={onClose} label={d.roomSettings}>
      <form class="stack" onSubmit={submit} noValidate data-testid="room-settings">
        <h2>{d.roomSettings}</h2>
        <label class="field">
          <span>{d.roomTitle}</span>
          <input name="title" value={title} maxLength={100} required autoFocus
            onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} />
          {fields.title && <span class="field-error" role="alert">{fields.title}</span>}
        </label>
        <label class="field">
          <span>{d.capacity}</span>
          <input name="max_members" type="number" min={Math.max(2, room.member_count)} max={1000} value={capacity}
            onInput={(e) => setCapacity((e.currentTarget as HTMLInputElement).value)} />
          {fields.max_members && <span class="field-error" role="alert">{fields.max_members}</span>}
        </label>
        <fieldset class="field">
          <legend>{d.password}</legend>
          <label class="check">
            <input type="radio" name="lock" checked={lock === "keep"} onChange={() => setLock("keep")} />
            {room.secret ? d.passwordUnchanged : d.stayPublic}
          </label>
          <label class="check">
            <input type="radio" name="lock" checked={lock === "set"} onChange={() => setLock("set")} />
            {room.secret ? d.passwordChange : d.passwordSet}
          </label>
          {lock === "set" && (
            <input name="password" type="password" aria-label={d.password} value={password} maxLength={128} autoComplete="new-password"
              onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} />
          )}
          {room.secret && (
            <label class="check">
              <input type="radio" name="lock" checked={lock === "clear"} onChange={() => setLock("clear")} />
              {d.passwordClear}
            </label>
          )}
          {fields.password && <span class="field-error" role="alert">{fields.password}</span>}
        </fieldset>
        <label class="check">
          <input type="checkbox" name="keep" checked={keep} onChange={(e) => setKeep((e.currentTarget as HTMLInputElement).checked)} />
          {d.keepRoom}
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <div class="row end">
          <button type="button" class="secondary" onClick={onClose}>{d.cancel}</button>
          <button type="submit" disabled={busy}>{d.save}</button>
        </div>
      </form>
    </Dialog>
  );
}
