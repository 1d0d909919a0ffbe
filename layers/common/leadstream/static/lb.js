/* Leadstream minimal snippet: first-party anonymous id, page views, and hidden identity fields on forms.
   Sends with fetch keepalive so navigation never waits for it. */
(function (w, d) {
  var api = (d.currentScript && d.currentScript.getAttribute("data-api")) || "";
  var KEY = "ls_anonymous_id";
  function uuid() {
    return w.crypto && crypto.randomUUID ? crypto.randomUUID()
      : "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
          var r = (Math.random() * 16) | 0; return (c === "x" ? r : (r & 3) | 8).toString(16); });
  }
  function anonymousId() {
    var id = null;
    try { id = w.localStorage.getItem(KEY); } catch (e) {}
    if (!id) {
      id = uuid();
      try { w.localStorage.setItem(KEY, id); } catch (e) {}
    }
    return id;
  }
  function campaign() {
    var out = {}, params = new URLSearchParams(w.location.search);
    params.forEach(function (v, k) { if (k.indexOf("utm_") === 0) out[k.slice(4) === "campaign" ? "name" : k.slice(4)] = v; });
    return out;
  }
  function send(path, body) {
    var payload = JSON.stringify(body);
    try {
      fetch(api + path, { method: "POST", body: payload, keepalive: true,
                          headers: { "Content-Type": "application/json" } });
    } catch (e) { /* tracking must never break the page */ }
  }
  function page() {
    send("/v1/page", {
      anonymousId: anonymousId(),
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      name: d.title,
      context: {
        page: { path: w.location.pathname, url: w.location.href, referrer: d.referrer, title: d.title,
                search: w.location.search },
        campaign: campaign(),
        userAgent: navigator.userAgent
      }
    });
  }
  function tagForms() {
    var forms = d.querySelectorAll("form[data-leadstream]");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      [["anonymousId", anonymousId()], ["pagePath", w.location.pathname]].forEach(function (f) {
        var input = form.querySelector("input[name='" + f[0] + "']") || d.createElement("input");
        input.type = "hidden"; input.name = f[0]; input.value = f[1];
        form.appendChild(input);
      });
    }
  }
  w.leadstream = { anonymousId: anonymousId, page: page };
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", tagForms); else tagForms();
  page();
})(window, document);
