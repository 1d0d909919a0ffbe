// Accounts page: built in issue 10.
import { html } from "../lib.js";
import { useTitle } from "../ui.js";

export default function AccountsPage() {
  useTitle("Accounts");
  return html`<h1>Accounts</h1><p class="muted">This page is being built.</p>`;
}
