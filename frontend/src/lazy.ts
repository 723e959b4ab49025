// What is fetched the first time it is needed, so what few people use (the
// emoji picker, a room's settings, the link matcher) stays out of the
// first download.
import { h, type FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";

/** A hook giving what `load` fetches, once per page, from when `wanted` is
 *  first true; null until it is here. A failed fetch is tried again by the
 *  next component that wants it. */
export function onDemand<T>(load: () => Promise<T>): (wanted?: boolean) => T | null {
  let loading: Promise<T> | null = null;
  let loaded: T | null = null;
  return function useOnDemand(wanted = true) {
    const [value, setValue] = useState(() => loaded);
    useEffect(() => {
      if (value || loaded || !wanted) return;
      let live = true;
      (loading ??= load()).then(
        (v) => { loaded = v; if (live) setValue(() => v); },
        () => { loading = null; },
      );
      return () => { live = false; };
    }, [value, wanted]);
    return value ?? loaded;
  };
}

/** A component fetched the first time it is shown. */
export function lazy<P extends object>(load: () => Promise<FunctionComponent<P>>): FunctionComponent<P> {
  const useComponent = onDemand(load);
  return function Lazy(props: P) {
    const component = useComponent();
    return component ? h(component, props) : null;
  };
}
