import { useEffect, useState } from "react";

/** The app's paths are relative to the page's <base href>, so it works under any BASE_PATH. */
function basePath(): string {
  return new URL(document.baseURI).pathname;
}

/** The current route: the path below the base, without leading or trailing slashes. */
export function currentRoute(): string {
  const path = location.pathname;
  const base = basePath();
  const rel = path.startsWith(base) ? path.slice(base.length) : path.replace(/^\//, "");
  return decodeURIComponent(rel.replace(/\/+$/, ""));
}

const NAVIGATED = "mcphub:navigated";

export function navigate(route: string): void {
  const url = new URL(route.split("/").map(encodeURIComponent).join("/"), document.baseURI);
  history.pushState(null, "", url);
  window.dispatchEvent(new Event(NAVIGATED));
}

export function href(route: string): string {
  return new URL(route.split("/").map(encodeURIComponent).join("/"), document.baseURI).pathname;
}

export function useRoute(): string {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    window.addEventListener("popstate", update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return route;
}
