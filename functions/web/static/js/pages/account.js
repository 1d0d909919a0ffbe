// The account page: where the account stands and why (score, its parts, stage, surge, owner), its score
// and stage over time (a chart with its numbers in a table beside it), the buying committee by role
// (covered by whom, missing), and its people, known and anonymous, each linking to their LeadCard.
import { Line } from "../charts.js";
import { html } from "../lib.js";
import { href } from "../router.js";
import { Empty, Loading, Problem, Score, Stage, day, dateTime, percent, toMs, useApi, useTitle } from "../ui.js";
import { AccountStage } from "./accounts.js";

function Surge({ surge }) {
  if (!surge) return html`<span class="muted">never surged</span>`;
  return surge.surging
    ? html`<span class="tag surge">▲ Surging</span> <span class="muted small">since ${day(surge.last_surged_at)}</span>`
    : html`<span class="muted">last surged ${day(surge.last_surged_at)}</span>`;
}

function Summary({ card }) {
  return html`<section class="card" aria-labelledby="a-now">
    <h2 id="a-now" class="sr-only">Now</h2>
    <dl class="facts">
      <dt>Stage</dt><dd><${AccountStage} stage=${card.stage} /></dd>
      <dt>Score</dt><dd><${Score} value=${card.score} /> <span class="muted small">= engagement ${card.engagement} + fit ${card.fit} + committee ${card.committee}</span></dd>
      <dt>Surge</dt><dd><${Surge} surge=${card.surge} /></dd>
      <dt>Owner</dt><dd>${card.owner ? html`<a href=${`mailto:${card.owner}`}>${card.owner}</a>` : html`<span class="muted">nobody: its leads go by the team rules</span>`}</dd>
      <dt>People</dt><dd>${card.people} (${card.people_known_count} known, ${card.anonymous_people} anonymous; ${card.engaged_people} engaged)</dd>
      <dt>Leads</dt><dd><a href=${href(["leads"], { account: card.domain })}>This account’s leads in the list</a></dd>
    </dl>
  </section>`;
}

/** Marks of one day as one ("engaged, surge"): their labels would be written over each other. */
function sameDay(marks) {
  const byDay = new Map();
  for (const mark of [...marks].sort((a, b) => a.t - b.t)) {
    const key = day(mark.t);
    const kept = byDay.get(key);
    byDay.set(key, kept ? { t: kept.t, label: `${kept.label}, ${mark.label}` } : mark);
  }
  return [...byDay.values()];
}

function History({ card }) {
  const { points, stage_changes: changes, surges } = card.history;
  const marks = sameDay([
    ...changes.map((c) => ({ t: toMs(c.at), label: c.to_stage })),
    ...surges.map((s) => ({ t: toMs(s.at), label: "surge" })),
  ].filter((m) => m.t >= toMs(card.history.since)));
  return html`<section aria-labelledby="a-history">
    <h2 id="a-history">Score and stage over time</h2>
    ${points.length
      ? html`<div class="grid two history">
          <div class="card">
            <${Line} width=${480} height=${220} title=${`Score of ${card.name || card.domain} by day, with its stage changes`} points=${points.map((p) => ({ t: toMs(p.at), value: p.score }))} marks=${marks} />
            <p class="muted small">One point a day (the day’s latest score); dashed lines: stage changes and surges.</p>
          </div>
          <div class="table-wrap">
            <table class="data">
              <caption>Score by day</caption>
              <thead><tr><th scope="col">Day</th><th scope="col" class="num">Score</th><th scope="col" class="num">Engagement</th><th scope="col" class="num">Fit</th><th scope="col" class="num">Committee</th><th scope="col">Stage</th><th scope="col" class="num">People</th></tr></thead>
              <tbody>${[...points].reverse().map((p) => html`<tr>
                <td>${day(p.at)}</td><td class="num">${p.score}</td><td class="num">${p.engagement}</td><td class="num">${p.fit}</td><td class="num">${p.committee}</td><td>${p.stage}</td><td class="num">${p.people}</td>
              </tr>`)}</tbody>
            </table>
          </div>
        </div>`
      : html`<${Empty}>No score history in the last 90 days yet: a point is recorded each day the account changes.<//>`}
    ${changes.length || surges.length
      ? html`<div class="table-wrap"><table class="data">
          <caption>Stage changes and surges</caption>
          <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col" class="num">Score then</th></tr></thead>
          <tbody>${[
            ...changes.map((c) => ({ at: c.at, what: `${c.from_stage} → ${c.to_stage}`, score: c.score })),
            ...surges.map((s) => ({ at: s.at, what: `Surge: +${s.engagement_gain} engagement, +${s.engaged_people_gain} engaged people`, score: null })),
          ]
            .sort((a, b) => toMs(b.at) - toMs(a.at))
            .map((row) => html`<tr><td>${dateTime(row.at)}</td><td>${row.what}</td><td class="num">${row.score ?? "–"}</td></tr>`)}</tbody>
        </table></div>`
      : html`<p class="muted">It has not changed stage yet (it is at “${card.stage}”).</p>`}
  </section>`;
}

function personName(person) {
  return person.name || person.title || "Someone (no name given)";
}

function Committee({ card }) {
  const byRole = {};
  for (const person of card.people_known) if (person.role) (byRole[person.role] ||= []).push(person);
  const covered = card.committee_roles.filter((r) => r.people > 0).length;
  return html`<section aria-labelledby="a-committee">
    <h2 id="a-committee">Buying committee</h2>
    <p>${covered} of ${card.committee_roles.length} roles covered (${percent(covered, card.committee_roles.length)}).</p>
    <ul class="list committee">
      ${card.committee_roles.map((role) => {
        const people = byRole[role.id] || [];
        return html`<li class=${role.people ? "covered" : "missing"}>
          <strong>${role.label}</strong>
          ${role.people
            ? html` <span class="tag covered-tag">✓ Covered</span> <span class="muted small">(+${role.points} points)</span>
                <div>by ${people.length
                  ? people.map((p, i) => html`${i ? ", " : ""}<a href=${href(["leads", p.lead_id])}>${personName(p)}</a>`)
                  : `${role.people} ${role.people === 1 ? "person" : "people"}`}</div>`
            : html` <span class="tag missing-tag">✗ Missing</span> <span class="muted small">(worth ${role.points} points)</span>`}
        </li>`;
      })}
    </ul>
  </section>`;
}

function People({ card }) {
  const label = (id) => card.committee_roles.find((r) => r.id === id)?.label || "";
  return html`<section aria-labelledby="a-people">
    <h2 id="a-people">People</h2>
    <h3 id="a-known">Known (${card.people_known_count})</h3>
    ${card.people_known.length
      ? html`<div class="table-wrap rows-wrap"><table class="rows" aria-labelledby="a-known">
          <thead><tr><th scope="col">Person</th><th scope="col">Role</th><th scope="col">Stage</th><th scope="col" class="num">Score</th></tr></thead>
          <tbody>${card.people_known.map((p) => html`<tr>
            <td data-label="Person"><a href=${href(["leads", p.lead_id])}>${personName(p)}</a>${p.name && p.title ? html`<div class="muted small">${p.title}</div>` : null}</td>
            <td data-label="Role">${p.role ? label(p.role) : html`<span class="muted">none</span>`}</td>
            <td data-label="Stage"><${Stage} stage=${p.stage} /></td>
            <td data-label="Score" class="num"><${Score} value=${p.score} /></td>
          </tr>`)}</tbody>
        </table></div>`
      : html`<${Empty}>Nobody at this account has given their name yet.<//>`}
    ${card.people_known_count > card.people_known.length ? html`<p class="muted small">The ${card.people_known.length} highest scores of ${card.people_known_count}.</p>` : null}
    <h3 id="a-anonymous">Anonymous (${card.anonymous_people})</h3>
    ${card.people_anonymous.length
      ? html`<ul class="list anonymous">${card.people_anonymous.map((v) => html`<li>
          <a href=${href(["leads", v.lead_id])}>Anonymous visitor ${v.lead_id.slice(0, 8)}</a>
          <span><${Stage} stage=${v.stage} /> <${Score} value=${v.score} /></span>
        </li>`)}</ul>`
      : html`<p class="muted">No anonymous visitors from this company’s network.</p>`}
  </section>`;
}

export default function AccountPage({ domain }) {
  const { data: card, error, loading, reload } = useApi(`/api/accounts/${encodeURIComponent(domain)}`);
  useTitle(card ? card.name || card.domain : "Account");
  if (error && !card) {
    return html`<h1>${domain}</h1>${error.status === 404
      ? html`<${Empty}>Leadstream knows no account ${domain} yet. <a href=${href(["accounts"])}>All accounts</a><//>`
      : html`<${Problem} error=${error} retry=${reload} />`}`;
  }
  if (loading && !card) return html`<h1>${domain}</h1><${Loading} what="Loading the account" />`;
  return html`<p class="crumbs"><a href=${href(["accounts"])}>Accounts</a> ›</p>
    <h1>${card.name || card.domain}${card.name ? html` <span class="muted small">${card.domain}</span>` : null}</h1>
    <${Summary} card=${card} />
    <div class="grid two">
      <${Committee} card=${card} />
      <${People} card=${card} />
    </div>
    <${History} card=${card} />`;
}
