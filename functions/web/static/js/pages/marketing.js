// Marketing page: built in issue 10.
import { html } from "../lib.js";
import { useTitle } from "../ui.js";

export default function MarketingPage() {
  useTitle("Marketing");
  return html`<h1>Marketing</h1><p class="muted">This page is being built.</p>`;
}
