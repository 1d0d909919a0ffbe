// Hash routes (#/inbox, #/leads/<id>, #/accounts/<domain>?...): one page served at /app, deep links that
// work from a Slack message or a bookmark, no server-side rewrites.
import { useEffect, useState } from "./lib.js";

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { path: "/" + parts.map(encodeURIComponent).join("/"), parts, query: new URLSearchParams(search) };
}

/** "#/leads/<id>" for ["leads", id], with an optional query object (empty values left out). */
export function href(parts, query) {
  const path = "#/" + parts.map((part) => encodeURIComponent(String(part))).join("/");
  const search = new URLSearchParams(
    Object.entries(query || {}).filter(([, value]) => value !== undefined && value !== null && value !== ""),
  ).toString();
  return search ? `${path}?${search}` : path;
}

export function navigate(parts, query) {
  location.hash = href(parts, query);
}

export function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const changed = () => setRoute(parseHash());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}
