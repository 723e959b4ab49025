// What a message's own controls can do: answer it, react to it, edit it
// (or a GIF's description) or delete it. The room provides them; each message reads them from here.
import { createContext } from "preact";
import type { Chat } from "../api/client";
import type { Change } from "./changes";

export interface MessageActions {
  reply(chat: Chat): void;
  toggleReaction(chat: Chat, emoji: string): void;
  /** Starts (a seq) or ends (null) editing in place. */
  setEditing(seq: number | null): void;
  editingSeq: number | null;
  saveEdit(chat: Chat, text: string): void;
  /** Sets a GIF chat's description ("" removes it). */
  saveAlt(chat: Chat, alt: string): void;
  remove(chat: Chat): void;
  jumpTo(seq: number): void;
  /** The viewer owns the room: they may delete anyone's message. */
  owner: boolean;
  /** Edits, deletions and reactions on their way, by `changeKey`. */
  changes: ReadonlyMap<string, Change>;
  retryChange(key: string): void;
  discardChange(key: string): void;
}

export const Actions = createContext<MessageActions | null>(null);

/** Different emojis one chat may carry (the API's limit). */
export const REACTIONS_MAX = 20;

/** The emojis offered in one click; the picker has every other. */
export const QUICK_EMOJIS = ["👍", "❤️", "😂", "😮", "😢", "🎉"];
