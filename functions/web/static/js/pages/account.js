// Account page: built in issue 10.
import { html } from "../lib.js";
import { useTitle } from "../ui.js";

export default function AccountPage() {
  useTitle("Account");
  return html`<h1>Account</h1><p class="muted">This page is being built.</p>`;
}
