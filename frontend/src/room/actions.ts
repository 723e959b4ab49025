// What a message's own controls can do: answer it, react to it, edit or
// delete it. The room provides them; each message reads them from here.
import { createContext } from "preact";
import type { Chat } from "../api/client";

export interface MessageActions {
  reply(chat: Chat): void;
  toggleReaction(chat: Chat, emoji: string): void;
  /** Starts (a seq) or ends (null) editing in place. */
  setEditing(seq: number | null): void;
  editingSeq: number | null;
  saveEdit(chat: Chat, text: string): Promise<boolean>;
  remove(chat: Chat): void;
  jumpTo(seq: number): void;
  /** The viewer owns the room: they may delete anyone's message. */
  owner: boolean;
}

export const Actions = createContext<MessageActions | null>(null);

/** The emojis offered in one click; any other can be typed in the box. */
export const QUICK_EMOJIS = ["👍", "❤️", "😂", "😮", "😢", "🎉"];
