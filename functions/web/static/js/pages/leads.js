// Leads: the sales API's list with every filter it takes, as a form whose values live in the hash query
// (#/leads?stage=SQL&sort=score is a view to bookmark or share), paged with the API's cursor ("More").
// Rows are a table on a desktop and cards on a phone (app.css, "leads and accounts").
import { html } from "../lib.js";
import { FilterForm, More, queryOf, usePages } from "../listing.js";
import { likelihoodText } from "../leadparts.js";
import { href } from "../router.js";
import { Countdown, Empty, Problem, Score, Stage, ago, dateTime, stageName, useTitle } from "../ui.js";

export const LEAD_STAGES = ["lead", "MQL", "PQL", "SQL", "accepted", "rejected", "opportunity", "won", "lost", "disqualified"];
export const CHANNELS = ["paid search", "paid social", "organic search", "organic social", "email", "referral", "direct"];
const FIELDS = ["stage", "min_score", "account", "channel", "campaign", "owner", "sla", "updated_since", "sort"];

/** The API's query for the page's: a day chosen in the form means from that day's start, here. */
function apiQuery(query) {
  const since = query.updated_since;
  const start = since && /^\d{4}-\d{2}-\d{2}$/.test(since) ? new Date(`${since}T00:00`) : null;
  return { ...query, updated_since: start && !Number.isNaN(start.getTime()) ? start.toISOString() : since };
}

function Filters({ query }) {
  const stages = new Set((query.stage || "").split(",").filter(Boolean));
  return html`<${FilterForm} page="leads" label="Filter leads" key=${JSON.stringify(query)}>
    <fieldset class="stages">
      <legend>Stage <span class="muted">(none ticked: every stage but lead)</span></legend>
      ${LEAD_STAGES.map((stage) => html`<label class="check">
        <input type="checkbox" name="stage" value=${stage} defaultChecked=${stages.has(stage)} /> ${stageName(stage)}
      </label>`)}
    </fieldset>
    <div><label for="f-min-score">Score at least</label>
      <input id="f-min-score" name="min_score" type="number" step="any" inputmode="decimal" defaultValue=${query.min_score || ""} /></div>
    <div><label for="f-account">Account (domain)</label>
      <input id="f-account" name="account" placeholder="acme.com" autocapitalize="none" defaultValue=${query.account || ""} /></div>
    <div><label for="f-channel">Channel</label>
      <select id="f-channel" name="channel">
        <option value="">Any</option>
        ${CHANNELS.map((c) => html`<option value=${c} selected=${query.channel === c}>${c}</option>`)}
      </select></div>
    <div><label for="f-campaign">Campaign</label>
      <input id="f-campaign" name="campaign" defaultValue=${query.campaign || ""} /></div>
    <div><label for="f-owner">Owner (e-mail, or “me”)</label>
      <input id="f-owner" name="owner" list="f-owner-hints" autocapitalize="none" defaultValue=${query.owner || ""} />
      <datalist id="f-owner-hints"><option value="me"></option></datalist></div>
    <div><label for="f-sla">Speed to lead</label>
      <select id="f-sla" name="sla">
        <option value="">Any</option>
        ${["running", "breached", "met"].map((s) => html`<option value=${s} selected=${query.sla === s}>${s}</option>`)}
      </select></div>
    <div><label for="f-since">Changed since</label>
      <input id="f-since" name="updated_since" type="date" defaultValue=${query.updated_since || ""} /></div>
    <div><label for="f-sort">Sort by</label>
      <select id="f-sort" name="sort">
        <option value="" selected=${query.sort !== "score"}>Latest change</option>
        <option value="score" selected=${query.sort === "score"}>Score</option>
      </select></div>
  <//>`;
}

function who(lead) {
  return lead.name || (lead.company ? `Someone at ${lead.company}` : "Anonymous visitor");
}

function LeadRow({ lead, predictive }) {
  return html`<tr>
    <td data-label="Lead">
      <a href=${href(["leads", lead.lead_id])}>${who(lead)}</a>
      ${lead.title || lead.company ? html`<div class="muted small">${[lead.title, lead.company].filter(Boolean).join(" · ")}</div>` : null}
    </td>
    <td data-label="Stage"><${Stage} stage=${lead.stage} /></td>
    <td data-label="Score" class="num"><${Score} value=${lead.score} /></td>
    ${predictive
      ? html`<td data-label="Likelihood" class="num">${lead.likelihood ? likelihoodText(lead.likelihood.probability) : html`<span class="muted">–</span>`}</td>`
      : null}
    <td data-label="Owner">${lead.owner || html`<span class="muted">nobody</span>`}</td>
    <td data-label="Account">${lead.account ? html`<a href=${href(["accounts", lead.account])}>${lead.account}</a>` : html`<span class="muted">none</span>`}</td>
    <td data-label="Channel">${lead.channel || html`<span class="muted">unknown</span>`}${lead.campaign ? html`<div class="muted small">${lead.campaign}</div>` : null}</td>
    <td data-label="SLA">${lead.sla_state ? html`<${Countdown} due=${lead.sla_due_at} state=${lead.sla_state} />` : html`<span class="muted">–</span>`}</td>
    <td data-label="Last change"><time datetime=${lead.updated_at} title=${dateTime(lead.updated_at)}>${ago(lead.updated_at)}</time></td>
  </tr>`;
}

export default function LeadsPage({ route }) {
  useTitle("Leads");
  const query = queryOf(route, FIELDS);
  const pages = usePages("/api/leads", apiQuery(query), (page) => page.leads);
  const filtered = Object.keys(query).some((k) => k !== "sort");
  const predictive = pages.rows.some((lead) => lead.likelihood); // a stack with a predictive model
  return html`<h1>Leads</h1>
    <${Filters} query=${query} />
    <h2 class="sr-only">Results</h2>
    ${pages.error ? html`<${Problem} error=${pages.error} retry=${pages.more} />` : null}
    ${pages.rows.length
      ? html`<div class="table-wrap rows-wrap"><table class="rows">
          <caption class="sr-only">Leads${filtered ? " matching the filters" : ""}, ${query.sort === "score" ? "highest score first" : "latest change first"}</caption>
          <thead><tr><th scope="col">Lead</th><th scope="col">Stage</th><th scope="col" class="num">Score</th>${predictive ? html`<th scope="col" class="num">Likelihood to close</th>` : null}<th scope="col">Owner</th><th scope="col">Account</th><th scope="col">Channel</th><th scope="col">SLA</th><th scope="col">Last change</th></tr></thead>
          <tbody>${pages.rows.map((lead) => html`<${LeadRow} key=${lead.lead_id} lead=${lead} predictive=${predictive} />`)}</tbody>
        </table></div>`
      : pages.loading
        ? html`<p class="muted" role="status">Loading leads…</p>`
        : pages.error
          ? null
          : html`<${Empty}>${filtered ? "No lead matches these filters." : "No leads yet."}<//>`}
    <${More} pages=${pages} noun="leads" />`;
}
