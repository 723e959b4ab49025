// What is fetched the first time it is needed, so what few people use (the
// emoji picker, a room's settings, the link matcher) stays out of the
// first download. A part that does not arrive (offline, or a new version
// of the app replaced the file) says so where it would have been, with Try
// again and Reload; it is fetched again by itself once the browser is back
// online.
import { h, type FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { t } from "./i18n";

/** What a component wanting a part sees. */
export interface OnDemand<T> {
  value: T | null;
  /** The last fetch failed and none is under way. */
  failed: boolean;
  /** Fetches it again. */
  retry: () => void;
}

/** The address a failed import names ("Failed to fetch dynamically imported
 *  module: https://…/assets/x-abc.js"), without any query. A browser keeps
 *  the failure of an address for the page's life, so the next try asks for
 *  the same file under another query. */
function failedAddress(err: unknown): string | null {
  const text = err instanceof Error ? err.message : String(err);
  const found = /(https?:\/\/[^\s'"]+?\.m?js)(?:\?[^\s'"]*)?(?=$|[\s'"])/.exec(text);
  return found?.[1] ?? null;
}

/** Every part that failed and is still wanted: tried again when the browser is back online. */
const failedParts = new Set<() => void>();

if (typeof window !== "undefined") {
  window.addEventListener("online", () => [...failedParts].forEach((again) => again()));
}

/** A hook giving what `load` fetches (through `pick`), once per page, from
 *  when `wanted` is first true; `value` is null until it is here. */
export function onDemand<M, T = M>(load: () => Promise<M>, pick: (m: M) => T = (m) => m as unknown as T): (wanted?: boolean) => OnDemand<T> {
  let loading = false;
  let loaded: T | null = null;
  let failure: unknown = null;
  /** This part's own file, once a failure has named it. */
  let address: string | null = null;
  let tries = 0;
  const wanting = new Set<() => void>();
  const changed = () => wanting.forEach((fn) => fn());

  const fetchNow = () => {
    if (loaded || loading) return;
    loading = true;
    tries++;
    failedParts.delete(again);
    changed();
    const fetched = address ? (import(/* @vite-ignore */ `${address}?try=${tries}`) as Promise<M>) : load();
    fetched.then((m) => {
      const v = pick(m);
      if (v === undefined || v === null) throw new Error("the part arrived without what it should hold");
      return v;
    }).then(
      (v) => { loaded = v; failure = null; },
      (err: unknown) => { failure = err; address = failedAddress(err) ?? address; failedParts.add(again); },
    ).finally(() => {
      loading = false;
      changed();
    });
  };
  function again() {
    if (failure && wanting.size) fetchNow();
  }

  return function useOnDemand(wanted = true) {
    const [, rerender] = useState(0);
    useEffect(() => {
      if (!wanted) return;
      const fn = () => rerender((n) => n + 1);
      wanting.add(fn);
      // A failed fetch is tried again by the next component that wants it.
      fetchNow();
      return () => { wanting.delete(fn); };
    }, [wanted]);
    return { value: loaded, failed: !!failure && !loading, retry: fetchNow };
  };
}

/** Where a part that did not arrive would be: why, Try again and Reload. */
function LoadFailed({ retry, onClose }: { retry: () => void; onClose?: () => void }) {
  const d = t();
  return (
    h("div", { class: "load-failed", role: "alert", "data-testid": "load-failed" },
      h("span", null, navigator.onLine ? d.partNotLoaded : d.partNotLoadedOffline),
      h("span", { class: "row" },
        h("button", { type: "button", class: "secondary", onClick: retry }, d.tryAgain),
        h("button", { type: "button", class: "secondary", onClick: () => location.reload() }, d.reloadPage),
        onClose && h("button", { type: "button", class: "icon", onClick: onClose, "aria-label": d.close, title: d.close }, "✕"),
      ))
  );
}

/** A component fetched the first time it is shown. */
export function lazy<M, P extends object>(load: () => Promise<M>, pick: (m: M) => FunctionComponent<P>): FunctionComponent<P> {
  const useComponent = onDemand(load, pick);
  return function Lazy(props: P) {
    const { value, failed, retry } = useComponent();
    if (value) return h(value, props);
    return failed ? h(LoadFailed, { retry, onClose: (props as { onClose?: () => void }).onClose }) : null;
  };
}
