// Lead page: built in issue 10.
import { html } from "../lib.js";
import { useTitle } from "../ui.js";

export default function LeadPage() {
  useTitle("Lead");
  return html`<h1>Lead</h1><p class="muted">This page is being built.</p>`;
}
