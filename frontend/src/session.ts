// Who I am and what the server allows, shared by every view.
import type { User } from "./api/client";
import { signalLike } from "./store";

export const me = signalLike<User | null>(null);

export interface Limits {
  gif_max_bytes: number;
  text_max_chars: number;
  nickname_max_chars: number;
}

/** The server's limits, as its `hello` frame states them; these defaults
 *  hold until the first one arrives. */
export const limits = signalLike<Limits>({ gif_max_bytes: 5 * 1024 * 1024, text_max_chars: 2000, nickname_max_chars: 32 });

/** Whether a user still shows their default name (the colour). */
export function hasDefaultName(user: User): boolean {
  return user.name === user.color;
}

/** Replaces `user` wherever it appears by id, keeping everything else. */
export function withUser<T extends { id: string }>(old: T, user: User): T {
  return old.id === user.id ? { ...old, ...user } : old;
}
