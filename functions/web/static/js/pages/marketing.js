// Marketing: which channels and campaigns bring customers (the funnel), how fast sales acts on what it is
// handed (speed to lead), and how the leads at each stage score. Each as a chart AND its numbers in a table
// with a CSV. The period is in the hash query (#/marketing?period=30&by=channel), so a link keeps it.
// Read-only for every role: this page shows no action on a lead.
import { Bars, Histogram } from "../charts.js";
import { html, useState } from "../lib.js";
import { currencies, FUNNEL, named, NumbersTable, PERIODS, periodOf, share, STEPS, totalOf } from "../reportparts.js";
import { navigate } from "../router.js";
import { dateTime, duration, Empty, Loading, money, Problem, stageName, useApi, useTitle } from "../ui.js";

const CHART = 360; // the charts' drawing width: about the width they are shown at, so their text stays legible
const seconds = (value) => (value === null || value === undefined ? "–" : duration(value * 1000));
const revenueText = (revenue) =>
  Object.entries(revenue || {})
    .map(([currency, amount]) => money(amount, currency))
    .join(", ") || "–";

function PeriodPicker({ route, period }) {
  const query = Object.fromEntries(route.query);
  const [since, setSince] = useState(period.since);
  const [until, setUntil] = useState(period.until);
  const go = (changes) => navigate(["marketing"], { ...query, ...changes });
  const choose = (event) => {
    const value = event.currentTarget.value;
    go(value === "custom" ? { period: value, since: period.since, until: period.until } : { period: value, since: "", until: "" });
  };
  const apply = (event) => {
    event.preventDefault();
    go({ period: "custom", since, until });
  };
  return html`<form class="filters period" onSubmit=${apply}>
    <div>
      <label for="mk-period">Period</label>
      <select id="mk-period" value=${period.period} onChange=${choose}>
        ${PERIODS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select>
    </div>
    ${period.period === "custom"
      ? html`<div><label for="mk-since">From</label><input id="mk-since" type="date" value=${since} max=${until} required onInput=${(e) => setSince(e.currentTarget.value)} /></div>
          <div><label for="mk-until">To</label><input id="mk-until" type="date" value=${until} min=${since} required onInput=${(e) => setUntil(e.currentTarget.value)} /></div>
          <div><button type="submit" class="primary">Show</button></div>`
      : null}
  </form>`;
}

function Funnel({ route, period }) {
  const by = route.query.get("by") === "campaign" ? "campaign" : "channel";
  const { data, error, loading, reload } = useApi("/api/reports/source-quality", {
    query: { since: period.since, until: period.until, by },
  });
  const choose = (event) => navigate(["marketing"], { ...Object.fromEntries(route.query), by: event.currentTarget.value });
  const rows = data?.rows || [];
  const total = totalOf(rows);
  const revenueIn = currencies(rows);
  const label = (row) => (by === "campaign" && row.campaign ? `${named(row.channel)} / ${row.campaign}` : named(row.channel));
  const columns = [
    { key: "channel", label: by === "campaign" ? "Channel / campaign" : "Channel", show: (_v, row) => (row === total ? "Total" : label(row)), csv: (_v, row) => (row === total ? "Total" : row.channel) },
    ...(by === "campaign" ? [{ key: "campaign", label: "Campaign", show: (v) => (v === "-" ? "(none)" : v), csv: (v) => (v === "-" ? "" : v) }] : []),
    ...FUNNEL.map(([key, name]) => ({ key, label: name, num: true })),
    ...STEPS.map(([key, name]) => ({ key, label: name, num: true, show: share, csv: (v) => (v === null || v === undefined ? "" : v) })),
    ...revenueIn.map((currency) => ({
      key: `rev_${currency}`,
      label: `Revenue ${currency}`.trim(),
      num: true,
      show: (_v, row) => money(row.revenue?.[currency] || 0, currency),
      csv: (_v, row) => row.revenue?.[currency] || 0,
    })),
  ];
  // the campaign column is its own in the table (the CSV too), so the first column shows the channel only
  if (by === "campaign") columns[0] = { ...columns[0], label: "Channel", show: (_v, row) => (row === total ? "Total" : named(row.channel)) };
  return html`<section class="card report-section" aria-labelledby="mk-funnel">
    <h2 id="mk-funnel">Funnel by ${by}</h2>
    <p class="muted">Leads that reached each stage in ${period.label} (by first touch; a lead counts once per stage, on the day it first got there). Revenue: deals won in the period.</p>
    <div class="filters">
      <div>
        <label for="mk-by">Rows</label>
        <select id="mk-by" value=${by} onChange=${choose}>
          <option value="channel">By channel</option>
          <option value="campaign">By campaign</option>
        </select>
      </div>
    </div>
    <${Problem} error=${error} retry=${reload} />
    ${loading && !data
      ? html`<${Loading} what="Loading the funnel" />`
      : !rows.length
        ? html`<${Empty}>No lead reached MQL or beyond in ${period.label}.<//>`
        : html`<div class="grid two">
              <div>
                <h3>All ${by === "campaign" ? "campaigns" : "channels"}</h3>
                <${Bars} title=${`Funnel, all ${by}s: ${FUNNEL.map(([key, name]) => `${name} ${total[key]}`).join(", ")}`} rows=${FUNNEL.map(([key, name]) => ({ label: name, values: [total[key]] }))} series=${[{ name: "Leads" }]} width=${CHART} />
                <p>Revenue: <strong>${revenueText(total.revenue)}</strong></p>
              </div>
              <div>
                <h3>Per ${by}</h3>
                <${Bars}
                  title=${`Funnel per ${by}`}
                  rows=${rows.slice(0, 8).map((row) => ({ label: label(row), values: FUNNEL.map(([key]) => row[key]) }))}
                  series=${FUNNEL.map(([, name]) => ({ name }))}
                  width=${CHART}
                />
                ${rows.length > 8 ? html`<p class="muted">The chart shows the first 8 of ${rows.length} (the table has them all).</p>` : null}
              </div>
            </div>
            <${NumbersTable} caption=${`Funnel by ${by}, ${period.label}`} columns=${columns} rows=${rows} footer=${total} filename=${`funnel-by-${by}-${period.since}-${period.until}.csv`} />`}
  </section>`;
}

const OWNER_COLUMNS = [
  { key: "owner", label: "Owner" },
  { key: "handovers", label: "Hand-overs", num: true },
  { key: "acted", label: "Acted on", num: true },
  { key: "met", label: "Met", num: true },
  { key: "breached", label: "Breached", num: true },
  { key: "waiting", label: "Waiting", num: true },
  { key: "p50_seconds", label: "p50", num: true, show: seconds },
  { key: "p95_seconds", label: "p95", num: true, show: seconds },
];

function SpeedToLead({ period }) {
  const { data, error, loading, reload } = useApi("/api/reports/speed-to-lead", { query: { since: period.since, until: period.until } });
  const total = data?.total;
  return html`<section class="card report-section" aria-labelledby="mk-speed">
    <h2 id="mk-speed">Speed to lead</h2>
    <p class="muted">Leads handed to sales (SQL or a hand-raise) in ${period.label}: time from hand-over to the first accept or reject.</p>
    <${Problem} error=${error} retry=${reload} />
    ${loading && !data
      ? html`<${Loading} what="Loading speed to lead" />`
      : !total || !total.handovers
        ? html`<${Empty}>No lead was handed to sales in ${period.label}.<//>`
        : html`<dl class="facts speed-facts">
              <dt>Hand-overs</dt><dd>${total.handovers}</dd>
              <dt>Median (p50)</dt><dd>${seconds(total.p50_seconds)}</dd>
              <dt>p95</dt><dd>${seconds(total.p95_seconds)}</dd>
              <dt>SLA met</dt><dd>${total.met}</dd>
              <dt>SLA breached</dt><dd>${total.breached}</dd>
              <dt>Still waiting</dt><dd>${total.waiting}</dd>
            </dl>
            <div class="grid two">
              <div>
                <h3>Time to first action</h3>
                <${Histogram} title=${`Time to first action: ${data.distribution.map((b) => `${b.label} ${b.count}`).join(", ")}`} buckets=${data.distribution} width=${CHART} />
                <${NumbersTable}
                  caption=${`Time to first action, ${period.label}`}
                  columns=${[{ key: "label", label: "Time to first action" }, { key: "count", label: "Hand-overs", num: true }]}
                  rows=${data.distribution}
                  filename=${`speed-to-lead-${period.since}-${period.until}.csv`}
                />
              </div>
              <div>
                <h3>Per owner</h3>
                <${Bars}
                  title="Hand-overs per owner: met, breached, waiting"
                  rows=${data.by_owner.map((row) => ({ label: row.owner, values: [row.met, row.breached, row.waiting] }))}
                  series=${[{ name: "Met", color: "#047857" }, { name: "Breached", color: "#be123c" }, { name: "Waiting", color: "#b45309" }]}
                  width=${CHART}
                />
                <${NumbersTable}
                  caption=${`Breaches per owner, ${period.label}`}
                  columns=${OWNER_COLUMNS}
                  rows=${data.by_owner}
                  filename=${`speed-by-owner-${period.since}-${period.until}.csv`}
                />
              </div>
            </div>`}
  </section>`;
}

function ScoreDistribution() {
  const { data, error, loading, reload } = useApi("/api/reports/score-distribution");
  const stages = (data?.stages || []).filter((s) => s.leads);
  const labels = data?.stages?.[0]?.buckets.map((b) => b.label) || [];
  const columns = [
    { key: "stage", label: "Stage", show: (v) => stageName(v) },
    { key: "leads", label: "Leads", num: true, show: (v, row) => (row.truncated ? `${v}+` : v) },
    { key: "p50", label: "Median score", num: true, show: (v) => v ?? "–" },
    ...labels.map((label, i) => ({ key: `b${i}`, label, num: true })),
  ];
  const rows = stages.map((s) => ({ ...s, ...Object.fromEntries(s.buckets.map((b, i) => [`b${i}`, b.count])) }));
  return html`<section class="card report-section" aria-labelledby="mk-scores">
    <h2 id="mk-scores">Score distribution by stage</h2>
    <p class="muted">Known leads at each stage now, by their score now${data ? ` (${dateTime(data.as_of)})` : ""}; not limited to the period.</p>
    <${Problem} error=${error} retry=${reload} />
    ${loading && !data
      ? html`<${Loading} what="Loading the score distribution" />`
      : !stages.length
        ? html`<${Empty}>No known lead yet.<//>`
        : html`${stages.some((s) => s.truncated)
              ? html`<p class="notice">Stages marked “+” hold more than ${data.max_per_stage} leads: they are counted from the ${data.max_per_stage} most recently changed.</p>`
              : null}
            <div class="grid two">
              ${stages.map((s) => html`<div>
                <h3>${stageName(s.stage)} <span class="muted">(${s.truncated ? `${s.leads}+` : s.leads})</span></h3>
                <${Histogram} title=${`Scores of ${stageName(s.stage)} leads: ${s.buckets.map((b) => `${b.label} ${b.count}`).join(", ")}`} buckets=${s.buckets} width=${CHART} height=${170} />
              </div>`)}
            </div>
            <${NumbersTable} caption="Leads per stage and score" columns=${columns} rows=${rows} filename="score-distribution.csv" />`}
  </section>`;
}

export default function MarketingPage({ route }) {
  useTitle("Marketing");
  const period = periodOf(route.query);
  return html`<h1>Marketing</h1>
    <${PeriodPicker} key=${`${period.since}:${period.until}`} route=${route} period=${period} />
    <${Funnel} route=${route} period=${period} />
    <${SpeedToLead} period=${period} />
    <${ScoreDistribution} />`;
}
