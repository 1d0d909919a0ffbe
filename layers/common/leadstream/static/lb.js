/* lb.js 1.0.0, the Leadstream tracking snippet. Served minified (lb.min.js, made from this file by
   `python -m bench.snippet --write`) at {api}/v1/lb.js.

   On a website:
     <script>window.leadstream=window.leadstream||function(){(leadstream.q=leadstream.q||[]).push(arguments)}</script>
     <script async src="{api}/v1/lb.js" data-write-key="lsk_..."></script>
   The first line (optional) lets the page call leadstream(...) before this script has loaded.
   Optional attributes: data-api (an API base other than this script's own URL minus /v1/lb.js),
   data-cookie-domain (e.g. example.com, to share the id across subdomains), data-require-consent (track
   nothing until leadstream('consent', true)).

   What it does, with no dependencies:
   - a first-party anonymous id: cookie ls_aid (1 year, SameSite=Lax) mirrored in localStorage;
   - page views on load and on single-page-app navigation (history.pushState/replaceState, popstate), one
     per change of path or query (a replaceState to the same URL or a #fragment change is not a new view);
   - "Outbound Link Clicked" and "File Downloaded" events, sent with sendBeacon so navigation never waits;
   - identify with the contact details of any submitted form that holds an e-mail (never password fields);
   - hidden anonymousId and pagePath fields on forms that post to {api}/v1/forms/<id>;
   - batches to {api}/v1/b (text/plain: no CORS preflight) after 1 s or 10 messages, sendBeacon when the
     page is hidden, retries with backoff on network errors, 429 and 5xx (same messageIds, so the server
     dedupes), never on other 4xx, and keeps unsent messages (at most 100) in localStorage for the next page;
   - nothing at all, not even an id, when the browser sends Do-Not-Track or Global Privacy Control, or
     after leadstream('consent', false) (remembered in the ls_consent cookie, on data-cookie-domain if
     set, so every subdomain that shares the id also shares the choice, and in localStorage).

   Commands: leadstream('page' [, name] [, properties]), leadstream('track', event [, properties]),
   leadstream('identify', userIdOrTraits [, traits]), leadstream('consent', true|false), leadstream('reset').
   A user id given to identify is kept (localStorage ls_uid) and sent with every call until reset, which
   also starts a new anonymous id. leadstream.anonymousId() is the id while tracking is on (for forms
   posted from JavaScript), else null.

   Every entry point is wrapped in try/catch: tracking must never break or slow the page. */
((w, d) => {
  "use strict";
  const stub = w.leadstream;
  if (stub && stub.v) return; // loaded twice

  const VERSION = "1.0.0";
  const AID = "ls_aid";
  const UID = "ls_uid";
  const CONSENT = "ls_consent";
  const QUEUE = "ls_q";
  const KEEP = 100; // unsent messages kept for the next page
  const PER_REQUEST = 20;
  const DOWNLOAD =
    /\.(pdf|zip|docx?|xlsx?|pptx?|csv|txt|rtf|odt|ods|odp|key|pages|numbers|epub|dmg|exe|msi|pkg|deb|rpm|apk|iso|rar|7z|gz|tgz|mp3|mp4|mov|wav)$/i;
  // Form field (autocomplete token or name, lower case, letters only) -> identify trait.
  const TRAITS = {};
  const FIELDS = {
    email: "email emailaddress workemail businessemail youremail mail",
    name: "name fullname yourname contactname",
    firstName: "firstname fname givenname first",
    lastName: "lastname lname surname familyname last",
    company: "company companyname organization organisation org business employer",
    title: "title jobtitle organizationtitle position role",
    phone: "phone tel telephone phonenumber mobile",
  };
  const nav = navigator;
  const loc = location;
  const safe = (f) => function () {
    try {
      return f.apply(this, arguments);
    } catch (e) {
      /* tracking must never break the page */
    }
  };
  const cut = (value, max) => String(value || "").slice(0, max);
  const now = () => new Date().toISOString();
  const uuid = () => {
    try {
      return crypto.randomUUID();
    } catch (e) {
      return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
        (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
    }
  };
  // localStorage: store(k) reads, store(k, v) writes, store(k, null) deletes. Blocked storage is no error.
  const store = (k, v) => {
    try {
      const s = w.localStorage;
      if (v === undefined) return s.getItem(k);
      if (v === null) s.removeItem(k);
      else s.setItem(k, v);
    } catch (e) {
      /* storage disabled */
    }
    return null;
  };
  // First-party cookies: cookie(name) reads one, cookie(name, v, seconds) writes it, cookie(name, "", 0) deletes it.
  const cookie = (name, v, age) => {
    try {
      if (v === undefined) {
        const m = d.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]*)"));
        return m && decodeURIComponent(m[1]);
      }
      d.cookie = name + "=" + encodeURIComponent(v) + "; Max-Age=" + age + "; Path=/; SameSite=Lax" +
        (domain ? "; Domain=" + domain : "") + (loc.protocol == "https:" ? "; Secure" : "");
    } catch (e) {
      /* cookies disabled */
    }
    return null;
  };
  const valid = (id) => (id && /^[\w-]{8,100}$/.test(id) ? id : null);

  const script = d.currentScript || d.querySelector('script[src*="/v1/lb.js"]');
  const attr = (name) => script && script.getAttribute("data-" + name);
  const key = attr("write-key");
  const api = attr("api") || (script ? script.src : "").replace(/\/v1\/lb\.js([?#].*)?$/, "");
  const domain = attr("cookie-domain");
  const optIn = attr("require-consent") != null;
  let choice = null; // the consent given on this page, for when localStorage is blocked
  let aid = null;
  let uid = null;
  let queue = [];
  let busy = {}; // messageIds of the request in flight
  let sending = false;
  let timer = 0;
  let tries = 0;
  let navTimer = 0;
  let viewed = null; // path and query of the last page view
  let last = null; // URL of the last page view
  let ref = d.referrer; // referrer of the current page view

  const on = () => {
    // the consent cookie first: with data-cookie-domain it is the one every subdomain sees
    const c = cookie(CONSENT) || store(CONSENT) || choice;
    return !!key && !(nav.doNotTrack == "1" || w.doNotTrack == "1" || nav.globalPrivacyControl === true) &&
      (c ? c == "1" : !optIn);
  };
  const setId = (id) => {
    aid = id;
    cookie(AID, id, 31536000); // a year, renewed on every page
    store(AID, id);
  };
  const start = () => {
    setId(valid(cookie(AID)) || valid(store(AID)) || uuid());
    uid = store(UID);
    try {
      const saved = JSON.parse(store(QUEUE) || "[]");
      if (Array.isArray(saved)) queue = saved.slice(-KEEP).concat(queue);
    } catch (e) {
      /* not ours */
    }
    if (queue.length) later(1000);
  };

  // --- sending ---------------------------------------------------------------------------------------

  const save = () => store(QUEUE, queue.length ? JSON.stringify(queue) : null);
  const done = (batch) => {
    const sent = batch.map((m) => m.messageId);
    queue = queue.filter((m) => sent.indexOf(m.messageId) < 0);
    save();
  };
  const later = (ms) => {
    if (!timer) timer = setTimeout(safe(() => {
      timer = 0;
      flush();
    }), ms);
  };
  const body = (batch) => JSON.stringify({ writeKey: key, sentAt: now(), batch });
  // Send what is queued: with fetch (one request at a time), or with sendBeacon when the page may go away.
  const flush = (beacon) => {
    if (!on()) return;
    const todo = queue.filter((m) => !busy[m.messageId]);
    const url = api + "/v1/b";
    while (beacon && todo.length) {
      const batch = todo.splice(0, PER_REQUEST);
      if (!(nav.sendBeacon && nav.sendBeacon(url, new Blob([body(batch)], { type: "text/plain" })))) {
        todo.unshift(...batch); // left to fetch
        break;
      }
      if (!tries) done(batch); // accepted for delivery; but while sends fail, kept for the next page too
    }
    if (sending || !todo.length) return;
    clearTimeout(timer);
    timer = 0;
    const batch = todo.slice(0, PER_REQUEST);
    sending = true;
    batch.forEach((m) => (busy[m.messageId] = 1));
    Promise.resolve()
      .then(() => fetch(url, {
        method: "POST", body: body(batch), keepalive: true, headers: { "Content-Type": "text/plain" },
      }))
      .then((r) => r.status, () => 0) // 0: a network error (or a response that CORS hides)
      .then(safe((status) => {
        sending = false;
        busy = {};
        if (status && status < 500 && status != 429) {
          tries = 0;
          done(batch); // stored, or refused for good: a 4xx is not retried
          if (queue.length) later(queue.length < 10 ? 1000 : 0);
        } else if (tries < 10) {
          later(Math.min(1000 * 2 ** tries++, 60000) * (0.5 + Math.random() / 2));
        }
      }));
  };
  const enqueue = (m) => {
    queue.push(m);
    if (queue.length > KEEP) queue = queue.slice(-KEEP);
    save();
    if (queue.length - Object.keys(busy).length >= 10) flush();
    else later(1000);
  };

  // --- messages --------------------------------------------------------------------------------------

  const message = (type, fields) => {
    if (!on()) return false;
    if (!aid) start();
    const campaign = {};
    new URLSearchParams(loc.search).forEach((v, k) => {
      if (/^utm_/.test(k)) campaign[k == "utm_campaign" ? "name" : k.slice(4)] = cut(v, 200);
    });
    enqueue(Object.assign({
      type,
      messageId: uuid(),
      anonymousId: aid,
      userId: uid || undefined,
      originalTimestamp: now(),
      context: {
        page: {
          path: cut(loc.pathname, 2048), url: cut(loc.href, 4096), referrer: cut(ref, 4096),
          title: cut(d.title, 512), search: cut(loc.search, 4096),
        },
        campaign,
        userAgent: nav.userAgent,
        locale: nav.language,
        library: { name: "lb.js", version: VERSION },
      },
    }, fields));
    return true;
  };
  const page = (name, props) => {
    if (typeof name != "string") {
      props = name || props;
      name = d.title;
    }
    if (!on()) return;
    if (last && last != loc.href) ref = last;
    last = loc.href;
    viewed = loc.pathname + loc.search;
    message("page", { name: cut(name, 200), properties: props || {} });
  };
  // A page view when the URL's path or query changed since the last one (not for #fragments).
  const auto = () => {
    if (on() && loc.pathname + loc.search != viewed) page();
  };
  const changed = safe(() => {
    clearTimeout(navTimer);
    navTimer = setTimeout(safe(auto), 50); // lets the app set the new title; one view for push + replace
  });

  // --- forms and links -------------------------------------------------------------------------------

  const leadstreamForm = (f) => {
    const action = f.getAttribute("action");
    return f.hasAttribute("data-leadstream") ||
      (!!action && !!api && new URL(action, loc.href).href.indexOf(api + "/v1/forms/") == 0);
  };
  // Hidden anonymousId and pagePath on forms posted to Leadstream; removed when tracking is off.
  const tag = (f) => {
    if (!leadstreamForm(f)) return;
    [["anonymousId", aid], ["pagePath", loc.pathname]].forEach(([name, value]) => {
      let input = f.querySelector("input[name=" + name + "]");
      if (!on() || !aid) {
        if (input) input.remove();
        return;
      }
      if (!input) {
        input = d.createElement("input");
        input.type = "hidden";
        input.name = name;
        f.appendChild(input);
      }
      input.value = value;
    });
  };
  const tagAll = () => {
    for (const f of d.forms) tag(f);
  };
  // The trait a field holds, by its autocomplete token or name: "contact[first_name]" -> firstName.
  const traitOf = (s) => {
    s = (s || "").toLowerCase().trim().split(/\s+/).pop().replace(/.*\[|[^a-z]/g, "");
    return TRAITS.hasOwnProperty(s) ? TRAITS[s] : null;
  };
  // Any form with an e-mail: identify with its contact fields. Runs before the page's own handlers and
  // never prevents or delays the submission; password and file fields are never read.
  const submitted = (e) => {
    const f = e.target;
    if (!f || f.tagName != "FORM") return;
    tag(f);
    if (!on()) return;
    const traits = {};
    for (const el of f.elements) {
      if (/^(password|file|checkbox|radio|submit|button|reset|image)$/.test(el.type)) continue;
      const trait = traitOf(el.getAttribute("autocomplete")) || traitOf(el.name) ||
        (el.type == "email" ? "email" : null);
      const value = String(el.value || "").trim();
      if (trait && value && !traits[trait]) traits[trait] = cut(value, trait == "phone" ? 50 : 100);
    }
    if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(traits.email) && message("identify", { traits })) flush(true);
  };
  const clicked = (e) => {
    if (e.type == "auxclick" && e.button != 1) return; // a middle click opens the link, a right click not
    const a = e.target && e.target.closest && e.target.closest("a[href]");
    if (!a || !on()) return;
    const u = new URL(a.getAttribute("href"), loc.href);
    const file = a.hasAttribute("download") || DOWNLOAD.test(u.pathname);
    const event = file ? "File Downloaded" : "Outbound Link Clicked";
    if (/^https?:$/.test(u.protocol) && (file || u.host != loc.host) &&
      message("track", { event, properties: { url: cut(u.href, 2048) } })) flush(true);
  };

  // --- commands --------------------------------------------------------------------------------------

  const commands = {
    page,
    track: (event, props) => message("track", { event: cut(event, 200), properties: props || {} }),
    identify: (id, traits) => {
      if (!on()) return;
      if (id && typeof id == "object") {
        traits = id;
        id = null;
      }
      if (id != null && id !== "") store(UID, (uid = cut(id, 200)));
      message("identify", { traits: traits || {} });
    },
    consent: (yes) => {
      store(CONSENT, (choice = yes ? "1" : "0"));
      cookie(CONSENT, choice, 31536000);
      if (yes) {
        auto();
      } else {
        clearTimeout(timer);
        timer = 0;
        queue = [];
        aid = uid = null;
        cookie(AID, "", 0);
        [AID, UID, QUEUE].forEach((k) => store(k, null));
      }
      tagAll();
    },
    reset: () => {
      store(UID, null);
      uid = null;
      if (on()) setId(uuid());
      tagAll();
    },
  };
  const leadstream = safe((command, ...args) => {
    if (commands.hasOwnProperty(command)) commands[command](...args);
  });
  leadstream.v = VERSION;
  leadstream.anonymousId = safe(() => (on() ? aid : null));

  try {
    for (const trait in FIELDS) for (const field of FIELDS[trait].split(" ")) TRAITS[field] = trait;
    w.leadstream = leadstream;
    if (on()) start();
    for (const args of (stub && stub.q) || []) leadstream(...args);
    for (const name of ["pushState", "replaceState"]) {
      const original = history[name];
      if (typeof original == "function") {
        history[name] = function () {
          const result = original.apply(this, arguments);
          changed();
          return result;
        };
      }
    }
    const hidden = safe(() => flush(true));
    const listen = (target, type, f) => target.addEventListener(type, safe(f), true);
    listen(w, "popstate", changed);
    listen(w, "pageshow", (e) => {
      if (e.persisted) { // back from the back-forward cache: a new view of this page
        viewed = null;
        auto();
      }
    });
    listen(w, "pagehide", hidden);
    listen(d, "visibilitychange", () => d.visibilityState == "hidden" && hidden());
    listen(d, "submit", submitted);
    listen(d, "click", clicked);
    listen(d, "auxclick", clicked);
    const ready = () => {
      auto();
      tagAll();
    };
    if (d.readyState == "loading") listen(d, "DOMContentLoaded", ready);
    else ready();
  } catch (e) {
    /* tracking must never break the page */
  }
})(window, document);
