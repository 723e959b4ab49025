// Who I am and what the server allows, shared by every view.
import type { User } from "./api/client";
import { signalLike } from "./store";

export const me = signalLike<User | null>(null);

export interface Limits {
  gif_max_bytes: number;
  text_max_chars: number;
  nickname_max_chars: number;
  /** The longest GIF description. */
  alt_max_chars: number;
}

/** What holds until the server says otherwise. */
export const DEFAULT_LIMITS: Limits = { gif_max_bytes: 5 * 1024 * 1024, text_max_chars: 2000, nickname_max_chars: 32, alt_max_chars: 300 };

/** The server's limits, as its `hello` frame states them (a limit it does
 *  not state keeps its default). */
export const limits = signalLike<Limits>(DEFAULT_LIMITS);

/** Whether a user still shows their default name (the colour). */
export function hasDefaultName(user: User): boolean {
  return user.name === user.color;
}

/** Replaces `user` wherever it appears by id, keeping everything else. */
export function withUser<T extends { id: string }>(old: T, user: User): T {
  return old.id === user.id ? { ...old, ...user } : old;
}
