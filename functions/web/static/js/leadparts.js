// Pieces the inbox, the leads list and the lead page share: a lead's name as a person reads it, its top
// reasons, the predictive likelihood and what moved it, the active framework (with the workflow's
// rejection reasons), and the Reject chooser. Everything a visitor typed (and a model's labels) goes
// through html`` as text, never as markup.
import { api } from "./api.js";
import { html, useEffect, useRef, useState } from "./lib.js";

/** What to call a lead: the name they gave, else their company's "someone", else its id. */
export function leadName(lead) {
  return lead?.name || lead?.contact?.name || "Unnamed lead";
}

/** "Requested a demo +40 · Viewed pricing +25": the points a lead earned, the strongest first. */
export function Reasons({ reasons, max = 3 }) {
  const shown = (reasons || []).slice(0, max);
  if (!shown.length) return null;
  return html`<ul class="reasons" aria-label="Top reasons">
    ${shown.map(
      (r) => html`<li>${r.label}${r.points ? html` <span class=${r.points > 0 ? "points" : "points negative"}>${r.points > 0 ? "+" : ""}${r.points}</span>` : null}</li>`,
    )}
  </ul>`;
}

/** A probability as sales reads it: whole percents, never a flat 0% or 100% for a model's estimate. */
export function likelihoodText(probability) {
  if (probability < 0.005) return "<1%";
  if (probability > 0.995) return ">99%";
  return `${Math.round(probability * 100)}%`;
}

/** "Likelihood to close 34%": the predictive score beside the rules score (nothing when none is computed). */
export function Likelihood({ likelihood }) {
  if (!likelihood) return null;
  return html`<span class="likelihood" title=${`Predictive model v${likelihood.model_version}`}>Likelihood to close ${likelihoodText(likelihood.probability)}</span>`;
}

/** The features that moved the likelihood most, each up or down (labels from the model: text, never markup). */
export function Drivers({ likelihood }) {
  const drivers = likelihood?.drivers || [];
  if (!drivers.length) return null;
  return html`<ul class="reasons drivers" aria-label="What moved the likelihood">
    ${drivers.map(
      (d) => html`<li>${d.label} <span class=${d.effect > 0 ? "points" : "points negative"} aria-hidden="true">${d.effect > 0 ? "↑" : "↓"}</span><span class="sr-only">${d.effect > 0 ? " raised it" : " lowered it"}</span></li>`,
    )}
  </ul>`;
}

let framework = null;

/** GET /api/qualification once per page load: the active framework and the rejection reasons. */
export function useFramework() {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    framework ||= api("/api/qualification").catch((error) => {
      framework = null;
      throw error;
    });
    let live = true;
    framework.then(
      (data) => live && setState({ data, error: null }),
      (error) => live && setState({ data: null, error }),
    );
    return () => {
      live = false;
    };
  }, []);
  return state;
}

/** Reject with a reason: one click on one of the workflow's reasons, or a reason of one's own. */
export function RejectChooser({ reasons, onReject, onCancel, busy, id }) {
  const [other, setOther] = useState("");
  const first = useRef(null);
  useEffect(() => first.current?.focus(), []);
  function submit(event) {
    event.preventDefault();
    if (other.trim()) onReject(other.trim());
  }
  return html`<div class="reject-chooser" role="group" aria-labelledby=${`${id}-why`}>
    <p id=${`${id}-why`} class="why">Why reject it?</p>
    <div class="actions">
      ${reasons ? null : html`<span class="muted">Loading the usual reasons…</span>`}
      ${(reasons || []).map(
        (reason, i) => html`<button type="button" class="bad" ref=${i === 0 ? first : undefined} disabled=${busy}
          onClick=${() => onReject(reason)}>${reason}</button>`,
      )}
    </div>
    <form class="other-reason" onSubmit=${submit}>
      <label for=${`${id}-other`}>Another reason</label>
      <div class="actions">
        <input id=${`${id}-other`} value=${other} maxlength="1000" onInput=${(e) => setOther(e.currentTarget.value)} />
        <button type="submit" class="bad" disabled=${busy || !other.trim()}>Reject</button>
        <button type="button" class="link" onClick=${onCancel}>Cancel</button>
      </div>
    </form>
  </div>`;
}
