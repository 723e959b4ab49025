// Where the app is: the path, kept in sync with history, and a one-off
// notice to show after navigating (room deleted, removed from a room…).
import { signalLike } from "./store";

export const path = signalLike(location.pathname);
export const notice = signalLike<string | null>(null);

export function navigate(to: string, message: string | null = null): void {
  if (location.pathname !== to) history.pushState(null, "", to);
  notice.set(message);
  path.set(to);
}

/** The room id in a `/rooms/{id}` path, if it is one. */
export function roomIdOf(p: string): string | null {
  return /^\/rooms\/([0-9a-f]{32})\/?$/.exec(p)?.[1] ?? null;
}
