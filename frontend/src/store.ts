// A tiny observable value; components subscribe through `useValue`.
import { useEffect, useState } from "preact/hooks";

export interface Observable<T> {
  get(): T;
  set(v: T): void;
  subscribe(fn: (v: T) => void): () => void;
}

export function signalLike<T>(initial: T): Observable<T> {
  let value = initial;
  const subs = new Set<(v: T) => void>();
  return {
    get: () => value,
    set(v) {
      value = v;
      subs.forEach((fn) => fn(v));
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}

export function useValue<T>(o: Observable<T>): T {
  const [v, setV] = useState(o.get());
  useEffect(() => {
    setV(o.get());
    return o.subscribe(setV);
  }, [o]);
  return v;
}

/** Whether a CSS media query matches, kept current. */
export function mediaQuery(query: string): Observable<boolean> {
  const mq = typeof matchMedia === "undefined" ? null : matchMedia(query);
  const o = signalLike(mq?.matches ?? false);
  mq?.addEventListener("change", (e) => o.set(e.matches));
  return o;
}
