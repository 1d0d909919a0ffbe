// Leads page: built in issue 10.
import { html } from "../lib.js";
import { useTitle } from "../ui.js";

export default function LeadsPage() {
  useTitle("Leads");
  return html`<h1>Leads</h1><p class="muted">This page is being built.</p>`;
}
