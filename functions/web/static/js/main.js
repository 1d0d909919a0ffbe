// The app's shell: sign-in, the navigation each role sees, and the page for the current hash route.
import { answerChallenge, canAct, currentSession, loadConfig, signIn, signOut } from "./auth.js";
import { html, render, useEffect, useRef, useState } from "./lib.js";
import { href, useRoute } from "./router.js";
import { Problem, useTitle } from "./ui.js";
import InboxPage from "./pages/inbox.js";
import LeadPage from "./pages/lead.js";
import LeadsPage from "./pages/leads.js";
import AccountsPage from "./pages/accounts.js";
import AccountPage from "./pages/account.js";
import MarketingPage from "./pages/marketing.js";

/** The page for a route: [component, its arguments]; the landing page depends on the role. */
function pageFor(route, session) {
  const [first, second] = route.parts;
  if (first === "inbox") return [InboxPage, {}];
  if (first === "leads" && second) return [LeadPage, { leadId: second }];
  if (first === "leads") return [LeadsPage, {}];
  if (first === "accounts" && second) return [AccountPage, { domain: second }];
  if (first === "accounts") return [AccountsPage, {}];
  if (first === "marketing") return [MarketingPage, {}];
  return canAct(session) ? [InboxPage, {}] : [MarketingPage, {}];
}

function SignIn({ onSignedIn, notice }) {
  useTitle("Sign in");
  const [pending, setPending] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const first = useRef(null);
  useEffect(() => first.current?.focus(), [pending]);

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const result = pending
        ? await answerChallenge(pending, String(form.get("answer") || ""))
        : await signIn(String(form.get("email") || "").trim(), String(form.get("password") || ""));
      if (result.session) onSignedIn(result.session);
      else setPending(result);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  const newPassword = pending?.challenge === "NEW_PASSWORD_REQUIRED";
  return html`<main id="main" class="signin">
    <form class="card" onSubmit=${submit} aria-describedby=${error ? "signin-error" : undefined}>
      <h1><span class="brand-mark" aria-hidden="true"></span> Leadstream</h1>
      ${notice && !pending ? html`<p class="notice" role="status">${notice}</p>` : null}
      ${pending
        ? html`<p>${newPassword
            ? "Choose your own password (at least 14 characters, with upper and lower case, a digit and a symbol)."
            : "Enter the 6-digit code from your authenticator app."}</p>
            <label for="answer">${newPassword ? "New password" : "Code"}</label>
            <input id="answer" name="answer" ref=${first} required
              type=${newPassword ? "password" : "text"}
              autocomplete=${newPassword ? "new-password" : "one-time-code"}
              inputmode=${newPassword ? undefined : "numeric"} />`
        : html`<label for="email">E-mail</label>
            <input id="email" name="email" type="email" ref=${first} required autocomplete="username" />
            <label for="password">Password</label>
            <input id="password" name="password" type="password" required autocomplete="current-password" />`}
      <div id="signin-error">${error ? html`<${Problem} error=${error} />` : null}</div>
      <button type="submit" class="primary" disabled=${busy}>${busy ? "Signing in…" : pending ? "Continue" : "Sign in"}</button>
    </form>
  </main>`;
}

function Nav({ session, route }) {
  const links = [
    ...(canAct(session) ? [["inbox", "Inbox"]] : []),
    ["leads", "Leads"],
    ["accounts", "Accounts"],
    ["marketing", "Marketing"],
  ];
  const here = route.parts[0] || (canAct(session) ? "inbox" : "marketing");
  return html`<header class="top">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>Skip to content</a>
    <a class="brand" href=${href([canAct(session) ? "inbox" : "marketing"])}><span class="brand-mark" aria-hidden="true"></span>Leadstream</a>
    <nav aria-label="Main">
      <ul>
        ${links.map(([part, label]) => html`<li><a href=${href([part])} aria-current=${here === part ? "page" : undefined}>${label}</a></li>`)}
      </ul>
    </nav>
    <div class="who">
      <span class="email" title=${session.groups.join(", ")}>${session.email}</span>
      <button type="button" class="link" onClick=${signOut}>Sign out</button>
    </div>
  </header>`;
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState(currentSession());
  const [notice, setNotice] = useState(null);
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    loadConfig().catch(setProblem);
    const ended = () => {
      setNotice(currentSession() ? null : "You are signed out.");
      setSession(null);
    };
    window.addEventListener("leadstream:signed-out", ended);
    return () => window.removeEventListener("leadstream:signed-out", ended);
  }, []);
  useEffect(() => {
    document.getElementById("main")?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [route.path]);
  if (problem) return html`<main id="main"><${Problem} error=${problem} /></main>`;
  if (!session) return html`<${SignIn} onSignedIn=${setSession} notice=${notice} />`;
  const [Page, props] = pageFor(route, session);
  return html`<${Nav} session=${session} route=${route} />
    <main id="main" tabindex="-1">
      <${Page} ...${props} route=${route} session=${session} />
    </main>`;
}

const root = document.getElementById("root");
root.textContent = "";
render(html`<${App} />`, root);
