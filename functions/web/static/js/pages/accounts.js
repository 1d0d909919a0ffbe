// Accounts: the sales API's account list (by stage, latest change first), paged with its cursor; the stage
// filter lives in the hash query (#/accounts?stage=MQA). Each row links to the account page.
import { html } from "../lib.js";
import { FilterForm, More, queryOf, usePages } from "../listing.js";
import { href } from "../router.js";
import { Empty, Problem, Score, ago, dateTime, useTitle } from "../ui.js";

export const ACCOUNT_STAGES = [["account", "Account"], ["engaged", "Engaged"], ["MQA", "MQA (marketing-qualified)"]];

export function AccountStage({ stage }) {
  return html`<span class=${`stage account-stage-${String(stage).toLowerCase()}`}>${stage === "MQA" ? "MQA" : stage.charAt(0).toUpperCase() + stage.slice(1)}</span>`;
}

function AccountRow({ account }) {
  return html`<tr>
    <td data-label="Account">
      <a href=${href(["accounts", account.domain])}>${account.name || account.domain}</a>
      ${account.name ? html`<div class="muted small">${account.domain}</div>` : null}
    </td>
    <td data-label="Stage"><${AccountStage} stage=${account.stage} /></td>
    <td data-label="Score" class="num"><${Score} value=${account.score} /></td>
    <td data-label="Committee" class="num">${Math.round(account.coverage * 100)}%</td>
    <td data-label="People" class="num">${account.people}<span class="muted small"> (${account.engaged_people} engaged, ${account.anonymous_people} anonymous)</span></td>
    <td data-label="Last change"><time datetime=${account.updated_at} title=${dateTime(account.updated_at)}>${ago(account.updated_at)}</time></td>
  </tr>`;
}

export default function AccountsPage({ route }) {
  useTitle("Accounts");
  const query = queryOf(route, ["stage"]);
  const stages = new Set((query.stage || "").split(",").filter(Boolean));
  const pages = usePages("/api/accounts", query, (page) => page.accounts);
  return html`<h1>Accounts</h1>
    <${FilterForm} page="accounts" label="Filter accounts" key=${query.stage || ""}>
      <fieldset class="stages">
        <legend>Stage <span class="muted">(none ticked: every stage)</span></legend>
        ${ACCOUNT_STAGES.map(([stage, label]) => html`<label class="check">
          <input type="checkbox" name="stage" value=${stage} defaultChecked=${stages.has(stage)} /> ${label}
        </label>`)}
      </fieldset>
    <//>
    ${pages.error ? html`<${Problem} error=${pages.error} retry=${pages.more} />` : null}
    ${pages.rows.length
      ? html`<div class="table-wrap rows-wrap"><table class="rows">
          <caption class="sr-only">Accounts, latest change first</caption>
          <thead><tr><th scope="col">Account</th><th scope="col">Stage</th><th scope="col" class="num">Score</th><th scope="col" class="num">Committee</th><th scope="col" class="num">People</th><th scope="col">Last change</th></tr></thead>
          <tbody>${pages.rows.map((account) => html`<${AccountRow} key=${account.domain} account=${account} />`)}</tbody>
        </table></div>`
      : pages.loading
        ? html`<p class="muted" role="status">Loading accounts…</p>`
        : pages.error
          ? null
          : html`<${Empty}>${stages.size ? "No account at these stages." : "No accounts yet: an account appears when its first person is scored."}<//>`}
    <${More} pages=${pages} noun="accounts" />`;
}
