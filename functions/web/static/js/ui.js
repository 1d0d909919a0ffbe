// Small shared pieces of the pages: data loading (with polling), time and money formats, the live clock,
// stage and score badges, error and empty states. Everything shown goes through html`` as text.
import { api } from "./api.js";
import { html, useCallback, useEffect, useRef, useState } from "./lib.js";

/** {data, error, loading, reload} for GET `path` (`query` filters); `poll` ms re-reads it while visible. */
export function useApi(path, { query, poll } = {}) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const key = path ? path + "?" + JSON.stringify(query || {}) : null;
  const latest = useRef(key);
  latest.current = key;
  const load = useCallback(async () => {
    if (!path) return;
    try {
      const data = await api(path, { query });
      if (latest.current === key) setState({ data, error: null, loading: false });
    } catch (error) {
      if (latest.current === key) setState((before) => ({ ...before, error, loading: false }));
    }
  }, [key]);
  useEffect(() => {
    setState((before) => ({ ...before, loading: true }));
    load();
    if (!poll) return undefined;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") load();
    }, poll);
    return () => clearInterval(timer);
  }, [load, poll]);
  return { ...state, reload: load };
}

/** The current time, re-rendered every `every` ms (for countdowns). */
export function useNow(every = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(timer);
  }, [every]);
  return now;
}

/** Milliseconds since the epoch from an ISO string, epoch seconds or epoch milliseconds. */
export function toMs(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value < 1e12 ? value * 1000 : value;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

export function duration(ms) {
  const seconds = Math.round(Math.abs(ms) / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${String(minutes % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d`;
}

export function ago(value, now = Date.now()) {
  const ms = toMs(value);
  if (ms === null) return "";
  const past = now - ms;
  return past >= 0 ? `${duration(past)} ago` : `in ${duration(past)}`;
}

export function dateTime(value) {
  const ms = toMs(value);
  return ms === null ? "" : new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function day(value) {
  const ms = toMs(value);
  return ms === null ? "" : new Date(ms).toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function money(amount, currency) {
  if (amount === null || amount === undefined) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "EUR", maximumFractionDigits: 0 }).format(amount);
  } catch {
    return `${amount} ${currency || ""}`.trim();
  }
}

export function percent(part, whole) {
  return whole ? `${Math.round((100 * part) / whole)}%` : "–";
}

/** A live countdown to an SLA deadline: "4m 12s left", or "breached 2m ago" (marked). */
export function Countdown({ due, state }) {
  const now = useNow();
  const ms = toMs(due);
  if (state === "met") return html`<span class="sla met">SLA met</span>`;
  if (ms === null) return html`<span class="sla none">no SLA</span>`;
  const left = ms - now;
  if (state === "breached" || left <= 0) {
    return html`<span class="sla breached" role="status">Breached ${duration(left)} ago</span>`;
  }
  return html`<span class="sla running" title=${`due ${dateTime(ms)}`}>${duration(left)} left</span>`;
}

const STAGE_NAMES = { lead: "Lead", accepted: "Accepted", rejected: "Rejected", opportunity: "Opportunity", won: "Won", lost: "Lost", disqualified: "Disqualified" };

export function stageName(stage) {
  return STAGE_NAMES[stage] || stage || "";
}

export function Stage({ stage }) {
  return html`<span class=${`stage stage-${String(stage || "").toLowerCase()}`}>${stageName(stage)}</span>`;
}

export function Score({ value, label = "Score" }) {
  return html`<span class="score" aria-label=${`${label} ${value ?? "none"}`}>${value ?? "–"}</span>`;
}

export function Loading({ what = "Loading" }) {
  return html`<p class="muted" role="status">${what}…</p>`;
}

/** An API error, said plainly, with what to do next. */
export function Problem({ error, retry }) {
  if (!error) return null;
  const details = error.body?.details;
  return html`<div class="problem" role="alert">
    <p>${error.message}</p>
    ${Array.isArray(details) && details.length
      ? html`<ul>${details.map((d) => html`<li>${typeof d === "string" ? d : `${d.field || d.loc || ""} ${d.message || d.msg || ""}`}</li>`)}</ul>`
      : null}
    ${retry ? html`<button type="button" onClick=${retry}>Try again</button>` : null}
  </div>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** document.title for a page, so that a screen reader and the tab say where the user is. */
export function useTitle(title) {
  useEffect(() => {
    document.title = title ? `${title} · Leadstream` : "Leadstream";
  }, [title]);
}

/** Rows as a CSV file download (numbers as they are, text quoted). */
export function downloadCsv(filename, header, rows) {
  const cell = (value) => {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") return String(value);
    let text = String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`; // a spreadsheet must not run it as a formula
    return `"${text.replace(/"/g, '""')}"`;
  };
  const csv = [header, ...rows].map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
