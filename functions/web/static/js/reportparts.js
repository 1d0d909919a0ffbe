// Pieces of the marketing page's reports: the period in the hash query, a table of numbers with its CSV, and
// the funnel's arithmetic over the source-quality rows. Read-only: nothing here acts on a lead.
import { html } from "./lib.js";
import { downloadCsv } from "./ui.js";

export const PERIODS = [
  ["7", "Last 7 days"],
  ["30", "Last 30 days"],
  ["90", "Last 90 days"],
  ["custom", "Custom dates"],
];

const isDay = (text) => /^\d{4}-\d{2}-\d{2}$/.test(text || "") && !Number.isNaN(Date.parse(text));

/** A UTC day (YYYY-MM-DD) `days` before today (the reports count UTC days). */
export function daysAgo(days, now = Date.now()) {
  return new Date(now - days * 86400000).toISOString().slice(0, 10);
}

/**
 * The period the hash query asks for: ?period=7|30|90 (the default 30), or ?period=custom&since&until.
 * {period, since, until, label} with since/until as the API takes them (both days included).
 */
export function periodOf(query, now = Date.now()) {
  const asked = query.get("period") || "30";
  if (asked === "custom") {
    const since = isDay(query.get("since")) ? query.get("since") : daysAgo(29, now);
    const until = isDay(query.get("until")) ? query.get("until") : daysAgo(0, now);
    return { period: "custom", since, until, label: `${since} to ${until}` };
  }
  const days = ["7", "30", "90"].includes(asked) ? Number(asked) : 30;
  return { period: String(days), since: daysAgo(days - 1, now), until: daysAgo(0, now), label: `the last ${days} days` };
}

/**
 * A table of numbers with a caption and a "Download CSV" button: columns [{key, label, num?, show?}],
 * rows of plain objects; `show(value, row)` formats a cell, the CSV keeps the raw value.
 */
export function NumbersTable({ caption, columns, rows, filename, footer }) {
  const all = footer ? [...rows, footer] : rows;
  const download = () =>
    downloadCsv(
      filename,
      columns.map((c) => c.label),
      all.map((row) => columns.map((c) => (c.csv ? c.csv(row[c.key], row) : row[c.key]))),
    );
  const cell = (c, row) => (c.show ? c.show(row[c.key], row) : row[c.key] ?? "");
  return html`<div class="report-table">
    <div class="table-wrap">
      <table>
        <caption>${caption}</caption>
        <thead>
          <tr>${columns.map((c) => html`<th scope="col" class=${c.num ? "num" : ""}>${c.label}</th>`)}</tr>
        </thead>
        <tbody>
          ${rows.map((row) => html`<tr>${columns.map((c, i) =>
            i === 0 ? html`<th scope="row">${cell(c, row)}</th>` : html`<td class=${c.num ? "num" : ""}>${cell(c, row)}</td>`,
          )}</tr>`)}
        </tbody>
        ${footer
          ? html`<tfoot><tr>${columns.map((c, i) =>
              i === 0 ? html`<th scope="row">${cell(c, footer)}</th>` : html`<td class=${c.num ? "num" : ""}>${cell(c, footer)}</td>`,
            )}</tr></tfoot>`
          : null}
      </table>
    </div>
    <p class="actions"><button type="button" onClick=${download} aria-label=${`Download CSV: ${caption}`}>Download CSV</button></p>
  </div>`;
}

// The funnel's stages as the source-quality report names them (lead -> MQL -> SQL -> accepted -> opportunity -> won)
export const FUNNEL = [
  ["mqls", "MQL"],
  ["sqls", "SQL"],
  ["accepted", "Accepted"],
  ["opportunities", "Opportunity"],
  ["won", "Won"],
];
// conversion between neighbouring stages: [key, label, from, to]
export const STEPS = [
  ["mql_to_sql", "MQL→SQL", "mqls", "sqls"],
  ["sql_to_accepted", "SQL→Accepted", "sqls", "accepted"],
  ["accepted_to_opportunity", "Accepted→Opp.", "accepted", "opportunities"],
  ["opportunity_to_won", "Opp.→Won", "opportunities", "won"],
];

/** A share (0..1) as a whole percent, "–" where there was nothing to convert. */
export const share = (value) => (value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`);

/** The total row of source-quality rows: every stage and currency added up, conversions recomputed. */
export function totalOf(rows) {
  const total = { channel: "Total", campaign: "", revenue: {} };
  for (const [key] of FUNNEL) total[key] = rows.reduce((sum, row) => sum + (row[key] || 0), 0);
  for (const row of rows) {
    for (const [currency, amount] of Object.entries(row.revenue || {})) {
      total.revenue[currency] = Math.round(((total.revenue[currency] || 0) + amount) * 100) / 100;
    }
  }
  for (const [key, , from, to] of STEPS) total[key] = total[from] ? Math.round((1000 * total[to]) / total[from]) / 1000 : null;
  return total;
}

/** Every currency the rows' revenue is in, sorted (one column each). */
export const currencies = (rows) => [...new Set(rows.flatMap((row) => Object.keys(row.revenue || {})))].sort();

/** "paid search" -> "Paid search" (the API's channel names are lower case). */
export const named = (text) => (text ? text[0].toUpperCase() + text.slice(1) : "");
