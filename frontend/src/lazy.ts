// A component fetched the first time it is shown, so what few people open
// (the emoji picker, a room's settings) stays out of the first download.
import { h, type FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";

export function lazy<P extends object>(load: () => Promise<FunctionComponent<P>>): FunctionComponent<P> {
  let loading: Promise<FunctionComponent<P>> | null = null;
  let loaded: FunctionComponent<P> | null = null;
  return function Lazy(props: P) {
    const [component, setComponent] = useState(() => loaded);
    useEffect(() => {
      if (component) return;
      let live = true;
      (loading ??= load()).then(
        (c) => { loaded = c; if (live) setComponent(() => c); },
        () => { loading = null; },
      );
      return () => { live = false; };
    }, [component]);
    return component ? h(component, props) : null;
  };
}
