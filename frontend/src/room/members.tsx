// Who is here. The owner can hand the room over or remove someone, each
// after a confirmation; anyone can start a whisper.
import type { Room, User } from "../api/client";
import { useNameColor } from "../colors";
import { t } from "../i18n";

function Member({ m, me, room, onWhisper, onMakeOwner, onKick }: {
  m: User;
  me: User;
  room: Room | null;
  onWhisper: (u: User) => void;
  onMakeOwner: (u: User) => void;
  onKick: (u: User) => void;
}) {
  const d = t();
  const color = useNameColor(m.color);
  const isOwner = room?.owner.id === me.id;
  return (
    <li class="member">
      <span class="dot" style={{ background: m.color }} aria-hidden="true" />
      <span class="member-name" style={{ color }}>{m.name}</span>
      {m.id === room?.owner.id && <span class="badge" title={d.owner}>👑<span class="sr-only">{d.owner}</span></span>}
      {m.id === me.id && <span class="muted small">({d.you})</span>}
      {m.id !== me.id && (
        <span class="member-actions">
          <button type="button" class="link" onClick={() => onWhisper(m)} aria-label={`${d.whisper}: ${m.name}`}>{d.whisper}</button>
          {isOwner && (
            <>
              <button type="button" class="link" aria-label={`${d.makeOwner}: ${m.name}`} onClick={() => onMakeOwner(m)}>{d.makeOwner}</button>
              <button type="button" class="link danger" aria-label={`${d.kick}: ${m.name}`} onClick={() => onKick(m)}>{d.kick}</button>
            </>
          )}
        </span>
      )}
    </li>
  );
}

export function Members({ members, me, room, open, onClose, ...actions }: {
  members: User[];
  me: User;
  room: Room | null;
  open: boolean;
  onClose: () => void;
  onWhisper: (u: User) => void;
  onMakeOwner: (u: User) => void;
  onKick: (u: User) => void;
}) {
  const d = t();
  return (
    <aside class={`members card${open ? " open" : ""}`} aria-labelledby="members-heading" id="members-panel">
      <div class="members-head">
        <h2 id="members-heading">{d.members} <span class="muted">{members.length}</span></h2>
        <button type="button" class="icon members-close" onClick={onClose} aria-label={d.hideMembers}>✕</button>
      </div>
      <ul data-testid="member-list">
        {members.map((m) => <Member key={m.id} m={m} me={me} room={room} {...actions} />)}
      </ul>
    </aside>
  );
}
