// The inbox: the SQLs, hand-raisers and PQLs waiting for sales, the soonest SLA deadline first, each with
// its live countdown, and Accept / Reject in one click. It polls the list (GET /api/leads?sort=due) every
// few seconds while the tab is visible: a new arrival appears without a reload, and the API stays the one
// way in (no socket to keep open through API Gateway for a list that changes a few times an hour).
import { api } from "../api.js";
import { html, useState } from "../lib.js";
import { href, navigate } from "../router.js";
import { Countdown, Empty, Loading, Problem, Score, Stage, useApi, useTitle } from "../ui.js";
import { leadName, Reasons, RejectChooser, useFramework } from "../leadparts.js";

const POLL_MS = 4000;
const WAITING = "SQL,PQL"; // hand-raisers are SQLs; MQLs are marketing's until sales takes them

function Item({ lead, reasons, onDone }) {
  const [rejecting, setRejecting] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const name = leadName(lead);
  const breached = lead.sla_state === "breached";

  async function act(action, body) {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/leads/${encodeURIComponent(lead.lead_id)}/${action}`, { method: "POST", body });
      onDone(lead, action === "accept" ? "Accepted" : "Rejected");
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  const who = [lead.title, lead.company].filter(Boolean).join(" · ");
  const from = [lead.channel, lead.campaign].filter(Boolean).join(" · ");
  return html`<li class=${`inbox-item${breached ? " breached" : ""}`} aria-labelledby=${`lead-${lead.lead_id}`}>
    <div class="inbox-head">
      <h2 id=${`lead-${lead.lead_id}`}><a href=${href(["leads", lead.lead_id])}>${name}</a></h2>
      <${Countdown} due=${lead.sla_due_at} state=${lead.sla_state} />
    </div>
    ${who ? html`<p class="who-line">${who}</p>` : null}
    <div class="badges">
      <${Stage} stage=${lead.stage} />
      ${lead.hand_raiser ? html`<span class="tag hand">Hand-raiser</span>` : null}
      <${Score} value=${lead.score} />
    </div>
    <${Reasons} reasons=${lead.reasons} />
    <dl class="facts">
      <dt>Owner</dt><dd>${lead.owner || html`<span class="muted">nobody yet</span>`}</dd>
      <dt>Account</dt><dd>${lead.account ? html`<a href=${href(["accounts", lead.account])}>${lead.account}</a>` : html`<span class="muted">none</span>`}</dd>
      <dt>Channel</dt><dd>${from || html`<span class="muted">unknown</span>`}</dd>
    </dl>
    <${Problem} error=${error} />
    ${rejecting
      ? html`<${RejectChooser} id=${`reject-${lead.lead_id}`} reasons=${reasons} busy=${busy}
          onReject=${(reason) => act("reject", { reason })} onCancel=${() => setRejecting(false)} />`
      : html`<div class="actions">
          <button type="button" class="good" disabled=${busy} onClick=${() => act("accept")}
            aria-label=${`Accept ${name}`}>Accept</button>
          <button type="button" class="bad" disabled=${busy} onClick=${() => setRejecting(true)}
            aria-label=${`Reject ${name}`}>Reject…</button>
        </div>`}
  </li>`;
}

export default function InboxPage({ route }) {
  useTitle("Inbox");
  const mine = route.query.get("owner") === "me";
  const list = useApi("/api/leads", {
    query: { stage: WAITING, sort: "due", limit: 100, owner: mine ? "me" : undefined },
    poll: POLL_MS,
  });
  const { data: framework } = useFramework();
  const [acted, setActed] = useState({}); // lead id -> its updated_at when acted on: hidden until it changes
  const [said, setSaid] = useState("");

  function done(lead, what) {
    setActed((before) => ({ ...before, [lead.lead_id]: lead.updated_at }));
    setSaid(`${what} ${leadName(lead)}.`);
    list.reload();
  }

  const waiting = (list.data?.leads || []).filter((lead) => acted[lead.lead_id] !== lead.updated_at);
  const breached = waiting.filter((lead) => lead.sla_state === "breached").length;
  return html`<div class="inbox">
    <div class="inbox-top">
      <h1>Inbox</h1>
      <fieldset class="toggle">
        <legend class="sr-only">Whose leads</legend>
        <label><input type="radio" name="owner" checked=${!mine} onChange=${() => navigate(["inbox"])} /> Everyone</label>
        <label><input type="radio" name="owner" checked=${mine} onChange=${() => navigate(["inbox"], { owner: "me" })} /> Mine</label>
      </fieldset>
    </div>
    <p class="muted" role="status" aria-live="polite">
      ${list.data ? `${waiting.length} waiting${breached ? `, ${breached} past the SLA` : ""}. ` : ""}${said}
    </p>
    ${list.error ? html`<${Problem} error=${list.error} retry=${list.reload} />` : null}
    ${!list.data && list.loading ? html`<${Loading} what="Loading the inbox" />` : null}
    ${list.data && !waiting.length
      ? html`<${Empty}>Nothing is waiting${mine ? " for you" : ""}. New SQLs and hand-raisers appear here within seconds.</${Empty}>`
      : null}
    <ul class="list inbox-list" aria-label="Waiting for sales, most urgent first">
      ${waiting.map(
        (lead) => html`<${Item} key=${lead.lead_id} lead=${lead} reasons=${framework?.rejection_reasons} onDone=${done} />`,
      )}
    </ul>
  </div>`;
}
