// The lists' shared parts (leads and accounts): pages read with the API's cursor and kept as the user asks
// for "More", and the filter form whose values live in the hash query, so a filtered view is a link.
import { api } from "./api.js";
import { html, useCallback, useEffect, useRef, useState } from "./lib.js";
import { navigate } from "./router.js";

/** {rows, error, loading, more, next}: the first page of GET `path` (`query`), then each page `more()` adds. */
export function usePages(path, query, rowsOf) {
  const [state, setState] = useState({ rows: [], cursor: null, error: null, loading: true });
  const key = path + "?" + JSON.stringify(query);
  const latest = useRef(key);
  latest.current = key;
  const read = useCallback(
    async (cursor, rows) => {
      setState((before) => ({ ...before, loading: true, error: null }));
      try {
        const page = await api(path, { query: { ...query, cursor } });
        if (latest.current === key) setState({ rows: [...rows, ...rowsOf(page)], cursor: page.cursor, error: null, loading: false });
      } catch (error) {
        if (latest.current === key) setState((before) => ({ ...before, error, loading: false }));
      }
    },
    [key],
  );
  useEffect(() => {
    setState({ rows: [], cursor: null, error: null, loading: true });
    read(null, []);
  }, [read]);
  return { ...state, more: () => read(state.cursor, state.rows) };
}

/** The query of a route as an object of the given fields (absent ones left out). */
export function queryOf(route, fields) {
  return Object.fromEntries(fields.map((name) => [name, route.query.get(name)]).filter(([, value]) => value));
}

/**
 * A filter form: its fields' values go to the hash query when it is applied (the page then reads them
 * back from the route), so the URL is the filter. `children` are the labelled controls, named as the API
 * names its parameters; checkboxes of one name make a comma list.
 */
export function FilterForm({ page, label, children, onReset }) {
  function apply(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const query = {};
    for (const [name, value] of form.entries()) {
      const text = String(value).trim();
      if (text) query[name] = query[name] ? `${query[name]},${text}` : text;
    }
    navigate([page], query);
  }
  return html`<form class="filters card" aria-label=${label} onSubmit=${apply}>
    ${children}
    <div class="actions filter-actions">
      <button type="submit" class="primary">Apply filters</button>
      <button type="button" class="link" onClick=${() => (onReset ? onReset() : navigate([page]))}>Clear</button>
    </div>
  </form>`;
}

/** "More" under a list while the API says there is a next page; a note when there is none. */
export function More({ pages, noun }) {
  if (pages.error) return null;
  if (pages.cursor) {
    return html`<p class="more"><button type="button" onClick=${pages.more} disabled=${pages.loading}>
      ${pages.loading ? "Loading…" : `More ${noun}`}</button></p>`;
  }
  return pages.rows.length ? html`<p class="muted more">That is every ${noun.replace(/s$/, "")} that matches.</p>` : null;
}
