// The LeadCard page (#/leads/<id>): GET /api/leads/{id} laid out for a phone first: who and how to reach
// them, where it stands and what to do, why the score, what they did, where they came from, the account,
// qualification, stage history, owner and SLA, notes. Sales and admin get the actions their stage allows;
// marketing reads. Whatever a visitor or a rep typed is shown as text.
import { api } from "../api.js";
import { canAct } from "../auth.js";
import { html, useEffect, useState } from "../lib.js";
import { href } from "../router.js";
import {
  ago, Countdown, dateTime, Empty, Loading, money, percent, Problem, Score, Stage, stageName, useApi, useTitle,
} from "../ui.js";
import { Drivers, Likelihood, likelihoodText, leadName, Reasons, RejectChooser, useFramework } from "../leadparts.js";

// What each move needs the lead to be (the workflow's table in the README, "Acting on a lead").
const MOVES = {
  accept: ["MQL", "PQL", "SQL", "rejected"],
  reject: ["MQL", "PQL", "SQL", "accepted"],
  opportunity: ["accepted"],
  won: ["opportunity"],
  lost: ["opportunity", "accepted"],
  disqualify: ["lead", "MQL", "PQL", "SQL", "accepted", "rejected", "opportunity"],
};
const can = (move, stage) => MOVES[move].includes(stage);
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CAD", "AUD", "JPY"];

const post = (leadId, action, body) =>
  api(`/api/leads/${encodeURIComponent(leadId)}/${action}`, { method: "POST", body });

/** A 409 that names the answers opportunity still needs, as the labels a rep knows. */
function Missing({ error, criteria }) {
  const missing = error?.body?.missing;
  if (!Array.isArray(missing) || !missing.length) return html`<${Problem} error=${error} />`;
  const label = (id) => criteria?.find((c) => c.id === id)?.label || id;
  return html`<div class="problem" role="alert">
    <p>Answer these before it can become an opportunity:</p>
    <ul>${missing.map((id) => html`<li><a href="#qualification" onClick=${(e) => { e.preventDefault(); document.getElementById(`q-${id}`)?.focus(); }}>${label(id)}</a></li>`)}</ul>
  </div>`;
}

function Deal({ stage, needsReason, busy, onSubmit, onCancel }) {
  function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const amount = String(form.get("amount") || "").trim();
    const reason = String(form.get("reason") || "").trim();
    const body = { stage };
    if (amount) {
      body.amount = Number(amount);
      body.currency = String(form.get("currency"));
    }
    if (reason) body.reason = reason;
    onSubmit(body);
  }
  return html`<form class="deal" onSubmit=${submit}>
    <div class="grid two">
      <div>
        <label for="deal-amount">Amount${stage === "won" ? "" : " (optional)"}</label>
        <input id="deal-amount" name="amount" type="number" inputmode="decimal" min="0.01" step="0.01" required=${stage === "won"} />
      </div>
      <div>
        <label for="deal-currency">Currency</label>
        <select id="deal-currency" name="currency">${CURRENCIES.map((c) => html`<option value=${c}>${c}</option>`)}</select>
      </div>
    </div>
    ${needsReason
      ? html`<label for="deal-reason">Why was it lost?</label><input id="deal-reason" name="reason" required maxlength="1000" />`
      : null}
    <div class="actions">
      <button type="submit" class=${stage === "lost" ? "bad" : "good"} disabled=${busy}>Mark as ${stageName(stage).toLowerCase()}</button>
      <button type="button" class="link" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

function Reason({ label, action, verb, busy, onSubmit, onCancel }) {
  const [text, setText] = useState("");
  return html`<form class="deal" onSubmit=${(e) => { e.preventDefault(); onSubmit(text.trim()); }}>
    <label for="why-${action}">${label}</label>
    <input id="why-${action}" value=${text} required maxlength="1000" onInput=${(e) => setText(e.currentTarget.value)} />
    <div class="actions">
      <button type="submit" class="bad" disabled=${busy || !text.trim()}>${verb}</button>
      <button type="button" class="link" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

/** The moves the lead's stage allows, for sales and admin. */
function Actions({ card, framework, onChanged }) {
  const [open, setOpen] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [owner, setOwner] = useState("");
  const { lead_id: leadId, stage } = card;

  async function run(action, body, done) {
    setBusy(true);
    setError(null);
    try {
      await post(leadId, action, body);
      setOpen(null);
      done?.();
      onChanged();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  const toggle = (name) => () => {
    setError(null);
    setOpen(open === name ? null : name);
  };
  const buttons = [
    can("accept", stage) && html`<button type="button" class="good" disabled=${busy} onClick=${() => run("accept")}>Accept</button>`,
    can("reject", stage) && html`<button type="button" class="bad" aria-expanded=${open === "reject"} onClick=${toggle("reject")}>Reject…</button>`,
    can("opportunity", stage) && html`<button type="button" class="primary" disabled=${busy} onClick=${() => run("progress", { stage: "opportunity" })}>Make it an opportunity</button>`,
    can("won", stage) && html`<button type="button" class="good" aria-expanded=${open === "won"} onClick=${toggle("won")}>Won…</button>`,
    can("lost", stage) && html`<button type="button" class="bad" aria-expanded=${open === "lost"} onClick=${toggle("lost")}>Lost…</button>`,
    can("disqualify", stage) && html`<button type="button" aria-expanded=${open === "disqualify"} onClick=${toggle("disqualify")}>Disqualify…</button>`,
    html`<button type="button" aria-expanded=${open === "assign"} onClick=${toggle("assign")}>Assign…</button>`,
  ].filter(Boolean);

  return html`<section class="card lead-actions" aria-labelledby="actions-h">
    <h2 id="actions-h">Act</h2>
    <div class="actions">${buttons}</div>
    ${open === "reject"
      ? html`<${RejectChooser} id="card-reject" reasons=${framework?.rejection_reasons} busy=${busy}
          onReject=${(reason) => run("reject", { reason })} onCancel=${() => setOpen(null)} />`
      : null}
    ${open === "won" || open === "lost"
      ? html`<${Deal} stage=${open} needsReason=${open === "lost"} busy=${busy}
          onSubmit=${(body) => run("progress", body)} onCancel=${() => setOpen(null)} />`
      : null}
    ${open === "disqualify"
      ? html`<${Reason} label="Why disqualify it?" action="disqualify" verb="Disqualify" busy=${busy}
          onSubmit=${(reason) => run("disqualify", { reason })} onCancel=${() => setOpen(null)} />`
      : null}
    ${open === "assign"
      ? html`<form class="deal" onSubmit=${(e) => { e.preventDefault(); run("assign", { owner: owner.trim() }, () => setOwner("")); }}>
          <label for="assign-owner">New owner's e-mail</label>
          <input id="assign-owner" type="email" required value=${owner} onInput=${(e) => setOwner(e.currentTarget.value)} />
          <div class="actions">
            <button type="submit" class="primary" disabled=${busy}>Assign</button>
            <button type="button" class="link" onClick=${() => setOpen(null)}>Cancel</button>
          </div>
        </form>`
      : null}
    ${error ? html`<${Missing} error=${error} criteria=${card.qualification?.criteria} />` : null}
  </section>`;
}

function Contact({ card }) {
  const c = card.contact;
  return html`<div class="contact">
    ${c.phone ? html`<a class="button" href=${`tel:${c.phone.replace(/[^+\d]/g, "")}`}>Call ${c.phone}</a>` : null}
    ${c.email ? html`<a class="button" href=${`mailto:${c.email}`}>Mail ${c.email}</a>` : null}
    ${!c.phone && !c.email ? html`<span class="muted">No phone or e-mail known.</span>` : null}
  </div>`;
}

function WhyTheScore({ score, likelihood }) {
  const fit = score.ledger.filter((e) => e.kind === "fit");
  const behaviour = score.ledger.filter((e) => e.kind === "behaviour");
  const row = (e) => html`<tr>
    <td>${e.label}${e.times > 1 ? html` <span class="muted">×${e.times}</span>` : null}</td>
    <td class="num">${e.points > 0 ? "+" : ""}${e.points}</td>
  </tr>`;
  const table = (caption, entries, total) => html`<div class="table-wrap ledger">
    <table>
      <caption>${caption}: ${total}</caption>
      <thead><tr><th scope="col">Rule</th><th scope="col" class="num">Points</th></tr></thead>
      <tbody>${entries.length ? entries.map(row) : html`<tr><td colspan="2" class="muted">none</td></tr>`}</tbody>
    </table>
  </div>`;
  return html`<section class="card" aria-labelledby="why-h">
    <h2 id="why-h">Why the score</h2>
    <p><${Score} value=${score.total} /> = fit ${score.fit} + engagement ${score.engagement}${" "}
      <span class="muted">(engagement halves every ${score.half_life_days} days without activity)</span></p>
    ${likelihood
      ? html`<p class="muted">Likelihood to close ${likelihoodText(likelihood.probability)}: predictive model v${likelihood.model_version}, learnt from your own won and lost deals, with the features that moved it most (↑ raised it, ↓ lowered it). It is shown beside the score; only the score moves stages.</p>`
      : null}
    <div class="grid two">
      ${table("Fit (who they are)", fit, score.fit)}
      ${table("Engagement (what they did, before decay)", behaviour, score.engagement_at_last_activity)}
    </div>
  </section>`;
}

function Timeline({ card }) {
  return html`<section class="card" aria-labelledby="timeline-h">
    <h2 id="timeline-h">What they did</h2>
    <p class="muted">${plural(card.sessions, "visit")}, ${plural(card.page_views, "page view")}${card.first_seen ? `, first seen ${dateTime(card.first_seen)}` : ""}.</p>
    ${card.activity.length
      ? html`<ol class="timeline">
          ${card.activity.map((a) => html`<li>
            <time datetime=${a.at}>${dateTime(a.at)}</time>
            <span class="what"><span class="tag">${a.type}</span> ${a.name || a.path || a.form_id || ""}</span>
            ${a.path && a.name ? html`<span class="muted path">${a.path}</span>` : null}
            ${a.channel ? html`<span class="muted"> · via ${a.channel}${a.campaign ? ` (${a.campaign})` : ""}</span>` : null}
          </li>`)}
        </ol>`
      : html`<${Empty}>Nothing recorded (or no longer kept).</${Empty}>`}
    ${card.activity_stored > card.activity.length
      ? html`<p class="muted">The newest ${card.activity.length} of ${card.activity_stored}.</p>`
      : null}
  </section>`;
}

function Touch({ label, touch }) {
  if (!touch) return html`<dt>${label}</dt><dd class="muted">unknown</dd>`;
  const via = [touch.source, touch.medium].filter(Boolean).join(" / ");
  return html`<dt>${label}</dt><dd>${touch.channel}${via ? ` (${via})` : ""}${touch.campaign ? html`, campaign <strong>${touch.campaign}</strong>` : null}${touch.landing_path ? html` <span class="muted">on ${touch.landing_path}</span>` : null}</dd>`;
}

function Source({ card }) {
  return html`<section class="card" aria-labelledby="source-h">
    <h2 id="source-h">Where they came from</h2>
    <dl class="facts">
      <${Touch} label="First touch" touch=${card.first_touch} />
      <${Touch} label="Latest" touch=${card.last_touch} />
      <dt>Last seen</dt><dd>${card.last_seen ? ago(card.last_seen) : "–"}</dd>
    </dl>
  </section>`;
}

const EVERY_STAGE = "lead,MQL,PQL,SQL,accepted,rejected,opportunity,won,lost,disqualified";
const role = (name) => String(name).replace(/_/g, " ");

/** The account, and its other people as the lead list gives them (names, titles, stages: one request). */
function Account({ card }) {
  const a = card.account;
  const people = useApi(a ? "/api/leads" : null, { query: { account: a?.domain, stage: EVERY_STAGE, sort: "score", limit: 25 } });
  const roles = Object.fromEntries((a?.top_people || []).map((p) => [p.lead_id, p.role]));
  const others = (people.data?.leads || []).filter((p) => p.lead_id !== card.lead_id);
  return html`<section class="card" aria-labelledby="account-h">
    <h2 id="account-h">Account</h2>
    ${a
      ? html`<p><a href=${href(["accounts", a.domain])}>${a.name || a.domain}</a>${a.name ? html` <span class="muted">${a.domain}</span>` : null}
            <${Stage} stage=${a.stage} /> <${Score} value=${a.score} label="Account score" /></p>
          <p class="muted">${a.people} people (${a.anonymous_people} anonymous), ${a.engaged_people} engaged; buying committee ${percent(a.coverage, 1)} covered.</p>
          <h3>Other people</h3>
          ${people.error ? html`<${Problem} error=${people.error} />` : null}
          ${people.data && !others.length ? html`<p class="muted">Nobody else known yet.</p>` : null}
          <ul class="people">
            ${others.map((p) => html`<li>
              <a href=${href(["leads", p.lead_id])}>${leadName(p)}</a>${p.title ? html` <span class="muted">${p.title}</span>` : null}
              ${roles[p.lead_id] ? html` <span class="tag">${role(roles[p.lead_id])}</span>` : null}
              <${Stage} stage=${p.stage} /> <${Score} value=${p.score} />
            </li>`)}
          </ul>`
      : html`<p class="muted">No account known.</p>`}
  </section>`;
}

function Qualify({ card, acting, onSaved }) {
  const q = card.qualification;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState("");
  if (!q) return null;
  const answered = q.answered.length;

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const answers = {};
    for (const c of q.criteria) {
      const text = String(form.get(c.id) || "").trim();
      if (text && text !== (c.answer || "")) answers[c.id] = text;
    }
    if (!Object.keys(answers).length) {
      setSaved("Nothing changed.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await post(card.lead_id, "qualify", { answers });
      setSaved("Saved.");
      onSaved();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return html`<section class="card" id="qualification" aria-labelledby="qual-h">
    <h2 id="qual-h">Qualification (${q.framework})</h2>
    <p>
      <progress max="1" value=${q.completeness} aria-labelledby="qual-done"></progress>
      <span id="qual-done"> ${answered} of ${q.criteria.length} answered (${percent(answered, q.criteria.length)})</span>
      ${q.missing_required.length ? html`<span class="muted"> · opportunity still needs ${q.missing_required.length}</span>` : null}
    </p>
    <form onSubmit=${submit}>
      ${q.criteria.map((c) => html`<div class="criterion">
        <label for=${`q-${c.id}`}>${c.label}</label>
        <p class="muted question" id=${`q-${c.id}-help`}>${c.question}${c.required ? html` <span class="tag">needed for opportunity</span>` : null}</p>
        <textarea id=${`q-${c.id}`} name=${c.id} maxlength="5000" rows="2" readonly=${!acting}
          aria-describedby=${`q-${c.id}-help`} defaultValue=${c.answer || ""}></textarea>
        ${c.by ? html`<p class="muted by">${c.by}, ${ago(c.at)}</p>` : null}
      </div>`)}
      ${acting
        ? html`<div class="actions"><button type="submit" class="primary" disabled=${busy}>Save answers</button>
            <span role="status" class="muted">${saved}</span></div>`
        : null}
      <${Problem} error=${error} />
    </form>
  </section>`;
}

function History({ card }) {
  return html`<section class="card" aria-labelledby="history-h">
    <h2 id="history-h">Stage history</h2>
    ${card.stage_history.length
      ? html`<ol class="history">
          ${[...card.stage_history].reverse().map((t) => html`<li>
            <${Stage} stage=${t.from_stage} /> → <${Stage} stage=${t.to_stage} />
            ${t.hand_raiser ? html` <span class="tag hand">Hand-raiser</span>` : null}
            <div class="muted">${dateTime(t.at)} · ${t.by === "scoring" ? `scoring (score ${t.score})` : t.by}</div>
            ${t.reason ? html`<div>Why: ${t.reason}</div>` : null}
            ${t.amount ? html`<div>${money(t.amount, t.currency)}</div>` : null}
          </li>`)}
        </ol>`
      : html`<p class="muted">No stage change yet.</p>`}
  </section>`;
}

function OwnerAndSla({ card }) {
  const { owner, sla } = card;
  return html`<dl class="facts">
    <dt>Owner</dt><dd>${owner ? html`${owner.user} <span class="muted">since ${ago(owner.assigned_at)}</span>` : html`<span class="muted">nobody yet</span>`}</dd>
    <dt>SLA</dt><dd>
      <${Countdown} due=${sla?.due_at} state=${sla?.state} />
      ${sla?.acted_at ? html` <span class="muted">${sla.acted_by || "someone"} acted ${ago(sla.acted_at)}</span>` : null}
      ${sla && !sla.acted_at ? html` <span class="muted">due ${dateTime(sla.due_at)}</span>` : null}
    </dd>
  </dl>`;
}

function Notes({ card, acting, onSaved }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post(card.lead_id, "notes", { text: text.trim() });
      setText("");
      onSaved();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  return html`<section class="card" aria-labelledby="notes-h">
    <h2 id="notes-h">Notes</h2>
    ${acting
      ? html`<form onSubmit=${submit}>
          <label for="new-note">Add a note</label>
          <textarea id="new-note" value=${text} maxlength="5000" onInput=${(e) => setText(e.currentTarget.value)}></textarea>
          <div class="actions"><button type="submit" class="primary" disabled=${busy || !text.trim()}>Add note</button></div>
          <${Problem} error=${error} />
        </form>`
      : null}
    ${card.notes.length
      ? html`<ul class="notes">${card.notes.map((n) => html`<li><p class="note-text">${n.text}</p><p class="muted">${n.by}, ${dateTime(n.at)}</p></li>`)}</ul>`
      : html`<p class="muted">No notes yet.</p>`}
  </section>`;
}

export default function LeadPage({ leadId, session }) {
  const card = useApi(`/api/leads/${encodeURIComponent(leadId)}`);
  const { data: framework } = useFramework();
  const acting = canAct(session);
  const c = card.data;
  const name = c ? leadName(c) : "Lead";
  useTitle(name);
  useEffect(() => {
    if (c) document.getElementById("lead-h")?.focus({ preventScroll: true });
  }, [c?.lead_id]);

  if (!c) {
    return html`<h1>Lead</h1>
      ${card.error ? html`<${Problem} error=${card.error} retry=${card.reload} />` : html`<${Loading} what="Loading the lead" />`}`;
  }
  const who = [c.contact.title, c.contact.company].filter(Boolean).join(" · ");
  return html`<article class="leadcard" aria-labelledby="lead-h">
    <header class="card lead-head">
      <h1 id="lead-h" tabindex="-1">${name}</h1>
      ${who ? html`<p class="who-line">${who}</p>` : null}
      <div class="badges">
        <${Stage} stage=${c.stage} />
        <${Score} value=${c.score.total} />
        <${Likelihood} likelihood=${c.likelihood} />
        ${c.stage_history.some((t) => t.hand_raiser) ? html`<span class="tag hand">Hand-raiser</span>` : null}
      </div>
      <${Reasons} reasons=${[...c.score.ledger].sort((a, b) => b.points - a.points)} />
      <${Drivers} likelihood=${c.likelihood} />
      <${Contact} card=${c} />
      <${OwnerAndSla} card=${c} />
      ${c.lead_id !== leadId ? html`<p class="notice">${`Lead ${leadId} was merged into this one.`}</p>` : null}
      ${c.merged_leads.length ? html`<p class="muted">Includes ${plural(c.merged_leads.length, "earlier record")} of this person (merged).</p>` : null}
      ${card.error ? html`<${Problem} error=${card.error} retry=${card.reload} />` : null}
    </header>
    ${acting ? html`<${Actions} card=${c} framework=${framework} onChanged=${card.reload} />` : null}
    <div class="grid two lead-columns">
      <div>
        <${WhyTheScore} score=${c.score} likelihood=${c.likelihood} />
        <${Timeline} card=${c} />
        <${Source} card=${c} />
        <${History} card=${c} />
      </div>
      <div>
        <${Qualify} key=${`${c.lead_id}:${c.qualification?.answered.join(",")}`} card=${c} acting=${acting} onSaved=${card.reload} />
        <${Notes} card=${c} acting=${acting} onSaved=${card.reload} />
        <${Account} card=${c} />
      </div>
    </div>
    <p class="muted">As of ${dateTime(c.as_of)}.</p>
  </article>`;
}
