/*! Helpdesk chat loader. See static/widget/README.md */
(function (w, d) {
  "use strict";
  var api = w.Helpdesk;
  if (api && api._loaded) return;
  var script = d.currentScript;
  function attr(n) { return script.getAttribute("data-" + n); }
  var key = attr("key") || "", base = new URL(script.src, location.href).origin;
  var side = attr("position") === "left" ? "left" : "right", storeKey = "helpdesk:" + key;
  var queue = [], handlers = {}, lang = attr("language"), frame, ready, isOpen, focus, button, badge, wrap;
  // The server translates them (ping, then the panel).
  var labels = {open: attr("label-open"), close: attr("label-close"), title: attr("label-title")};

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function save(k, v) {
    var s = load();
    s[k] = v;
    try { localStorage.setItem(storeKey, JSON.stringify(s)); } catch (e) { /* storage off: fine */ }
  }
  function emit(name, data) {
    (handlers[name] || []).forEach(function (cb) { setTimeout(cb, 0, data); });
  }
  function post(msg) { frame.contentWindow.postMessage(msg, base); }
  function send(msg) {
    msg.hd = 1;
    if (ready) post(msg); else queue.push(msg);
  }
  function page() {
    return {url: location.href.slice(0, 2048), title: d.title.slice(0, 512), referrer: d.referrer || null};
  }

  var pos = side + ":calc(16px + env(safe-area-inset-" + side + "))";
  var css = "#hd-launcher{all:initial;position:fixed;z-index:2147483000;bottom:calc(16px + env(safe-area-inset-bottom));" +
    pos + ";width:56px;height:56px;border-radius:50%;background:#2257d6;color:#fff;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}" +
    "#hd-launcher:focus-visible{outline:3px solid #7aa2ff;outline-offset:3px}" +
    "#hd-launcher svg{width:28px;height:28px;fill:currentColor}" +
    "#hd-badge{position:absolute;top:-4px;right:-4px;min-width:20px;padding:0 5px;box-sizing:border-box;border-radius:10px;" +
    "background:#c4320a;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}" +
    "#hd-frame{position:fixed;z-index:2147483001;bottom:88px;" + pos + ";width:380px;height:min(640px,calc(100% - 104px));" +
    "border:0;border-radius:14px;box-shadow:0 8px 32px rgba(0,0,0,.25);background:#fff}" +
    "@media (max-width:480px),(max-height:480px){#hd-launcher{width:48px;height:48px}" +
    "#hd-frame{inset:0;width:100%;height:100%;border-radius:0}.hd-open #hd-launcher{display:none}" +
    // A spacer: the page's end scrolls clear of the launcher.
    "#hd-widget{display:block;height:72px}}";
  var CHAT = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  var CLOSE = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5 5l14 14M19 5 5 19" stroke="#fff" stroke-width="2.5"/></svg>';

  function render() {
    button.innerHTML = isOpen ? CLOSE : CHAT;
    button.setAttribute("aria-label", (isOpen ? labels.close : labels.open) || "");
    button.setAttribute("aria-expanded", !!isOpen);
    if (badge.textContent && !isOpen) button.appendChild(badge);
  }

  function unread(n) {
    badge.textContent = n > 0 ? (n > 9 ? "9+" : n) : "";
    save("u", n > 0 ? n : 0);
    render();
  }

  function createFrame() {
    if (frame) return;
    frame = d.createElement("iframe");
    frame.id = "hd-frame";
    frame.title = labels.title || "";
    frame.hidden = true;
    src();
    wrap.appendChild(frame);
  }
  // The shop's language choice beats the browser's.
  function src() {
    frame.src = base + "/widget/frame?key=" + encodeURIComponent(key) + "&origin=" + encodeURIComponent(location.origin) +
      (lang ? "&lang=" + encodeURIComponent(lang) : "");
  }

  function open(reason) {
    if (!wrap || isOpen) return;
    createFrame();
    isOpen = true;
    frame.hidden = false;
    wrap.className = "hd-open";
    focus = reason !== "invitation";  // an invitation must not steal the page's focus
    send({t: "open", focus: focus});
    if (ready && focus) frame.focus();
    render();
    emit("opened", {reason: reason});
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    frame.hidden = true;
    wrap.className = "";
    send({t: "close"});
    render();
    button.focus();
    emit("closed", {});
  }

  // Only the panel's window, from our origin.
  w.addEventListener("message", function (e) {
    var m = e.data, t = m && m.hd === 1 && m.t;
    if (!frame || e.source !== frame.contentWindow || e.origin !== base || !t) return;
    if (t === "hello") {
      ready = true;
      post({hd: 1, t: "init", token: load().t || null, page: page(), open: !!isOpen});
      while (queue.length) post(queue.shift());
      if (isOpen && focus) frame.focus();
    } else if (t === "ready") {
      labels = m.labels || labels;
      frame.title = labels.title;
      render();
      emit("ready", {});
    } else if (t === "token") save("t", m.token);
    else if (t === "unread") unread(m.n);
    else if (t === "message") emit("message", m.message);
    else if (t === "close") close();
    else if (t === "open") open("invitation");
  });

  function start() {
    wrap = d.createElement("div");
    wrap.id = "hd-widget";
    wrap.innerHTML = "<style></style>";
    wrap.firstChild.textContent = css;
    button = d.createElement("button");
    button.id = "hd-launcher";
    button.type = "button";
    badge = d.createElement("span");
    badge.id = "hd-badge";
    button.onclick = function () { if (isOpen) close(); else open("launcher"); };
    wrap.appendChild(button);
    d.body.appendChild(wrap);
    d.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
    var s = load();
    save("n", (s.n || 0) + 1);  // pages viewed, for the rules
    unread(s.u);
    if (s.u > 0) createFrame();  // an agent reply is waiting: the panel fetches it (hidden)
    // Page view; unread replies, rules, labels (text/plain: no CORS preflight).
    fetch(base + "/widget/api/ping", {method: "POST", body: JSON.stringify({key: key, token: s.t || null, page: page(), lang: lang})})
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.labels && !ready) { labels = j.labels; render(); }
        if (j.unread > 0) { unread(j.unread); createFrame(); }
        (j.rules || []).forEach(rule);
      }, function () {});
    // Calls queued on a stub: Helpdesk = {q: [["identify", {...}]]}
    pending.forEach(function (c) { if (api[c[0]]) api[c[0]](c[1]); });
  }

  // A matching rule loads the panel; the server caps how often it opens.
  function rule(r) {
    if (r.url_contains && location.href.indexOf(r.url_contains) < 0 || load().n < r.min_pages_viewed) return;
    setTimeout(function () {
      if (!isOpen) { createFrame(); send({t: "rule", id: r.id}); }
    }, 1000 * Math.max(r.min_seconds_on_page || 0, r.min_seconds_on_product || 0));
  }

  var pending = api && api.q || [];
  api = w.Helpdesk = {
    _loaded: true,
    open: function () { open("api"); },
    close: close,
    identify: function (who) { send({t: "identify", d: who}); },
    setAttributes: function (attrs) { send({t: "attributes", d: attrs}); },
    setLanguage: function (code) { lang = code; if (frame) { ready = 0; src(); } },
    on: function (name, cb) { (handlers[name] = handlers[name] || []).push(cb); }
  };
  if (d.body) start(); else d.addEventListener("DOMContentLoaded", start);
})(window, document);
