// Inbox page: built in issue 10.
import { html } from "../lib.js";
import { useTitle } from "../ui.js";

export default function InboxPage() {
  useTitle("Inbox");
  return html`<h1>Inbox</h1><p class="muted">This page is being built.</p>`;
}
