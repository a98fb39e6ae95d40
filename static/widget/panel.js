/* The chat panel inside the widget iframe (templates/widgets/frame.html). Plain ES2017, no build.
 * Rules it keeps: every message has a client id and stays "pending" until the server's ack
 * (resent with the SAME id after a reconnect, so it is stored once); on (re)connect it asks
 * for what it missed (`resume`); messages are deduplicated by id; user text only ever goes
 * through textContent; every string comes translated from the template. */
(function () {
  "use strict";
  var d = document, $ = function (id) { return d.getElementById(id); };
  var boot = JSON.parse($("hd-boot").textContent), T = JSON.parse($("hd-strings").textContent);
  var parentOrigin = boot.parent, framed = window.parent !== window && !!parentOrigin;
  var LS = "helpdesk:" + boot.key, locale = d.documentElement.lang || navigator.language;
  var scroller = $("hd-scroll"), log = $("hd-log"), text = $("hd-text"), prechat = $("hd-prechat");
  var rate = $("hd-rate"), endBtn = $("hd-end"), typingEl = $("hd-typing"), errorEl = $("hd-error");
  var S = {token: null, store: boot.store, contact: null, ticket: null, page: null, open: !framed,
           lastId: 0, agentMax: 0, readSent: 0, readUpTo: 0, unread: 0, emailGiven: false, rated: {}};
  var byId = {}, ownIds = [], pending = [], inflight = null, socket = null, later = [], batch = null;
  var lastAuthor = null, agentName = null, readMark = el("span", "hd-read", T.read), typingTimer, rateFor;

  // ---- small helpers ------------------------------------------------------------------
  function el(tag, cls, txt) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (txt != null) e.textContent = txt;
    return e;
  }
  function show(e, on) { e.hidden = !on; }
  function store(k, v) { try { var s = JSON.parse(localStorage.getItem(LS)) || {}; if (arguments.length < 2) return s[k]; s[k] = v; localStorage.setItem(LS, JSON.stringify(s)); } catch (e) { return null; } }
  function toParent(m) { if (framed) { m.hd = 1; window.parent.postMessage(m, parentOrigin); } }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(16)), function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function safeUrl(u) {
    try { var x = new URL(u, location.href); return /^https?:$/.test(x.protocol) ? x.href : null; } catch (e) { return null; }
  }
  function time(iso) {
    try { return iso ? new Date(iso).toLocaleTimeString(locale, {hour: "numeric", minute: "2-digit"}) : ""; } catch (e) { return ""; }
  }
  function money(price, currency) {
    try { return new Intl.NumberFormat(locale, {style: "currency", currency: currency}).format(Number(price)); } catch (e) { return price + " " + (currency || ""); }
  }
  function initials(name) {
    return (name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map(function (w) { return w[0]; }).join("").toUpperCase();
  }
  function avatar(author) {
    var url = author && author.avatar_url && safeUrl(author.avatar_url), a = el("span", "hd-avatar", url ? null : initials(author && author.name));
    if (url) { var img = el("img"); img.src = url; img.alt = ""; a.appendChild(img); }
    a.setAttribute("aria-hidden", "true");
    return a;
  }
  function nearBottom() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80; }
  function toBottom() { scroller.scrollTop = scroller.scrollHeight; }
  // The view follows the chat (new messages, a photo that loads, history laid out late, a
  // smaller panel) until the shopper scrolls up; back at the bottom, it follows again.
  var pinned = true, lastTop = 0;
  scroller.addEventListener("scroll", function () {
    pinned = nearBottom() || pinned && scroller.scrollTop >= lastTop;
    lastTop = scroller.scrollTop;
  });
  var follow = new ResizeObserver(function () { if (pinned) toBottom(); });
  follow.observe(log);
  follow.observe(scroller);
  function error(msg) { errorEl.textContent = msg || ""; }
  function linkify(s) {
    var p = el("p"), re = /\bhttps?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]]/g, i = 0, m, a;
    while ((m = re.exec(s))) {
      p.appendChild(d.createTextNode(s.slice(i, m.index)));
      a = el("a", null, m[0]);
      a.href = m[0]; a.target = "_blank"; a.rel = "noopener noreferrer nofollow";
      p.appendChild(a);
      i = m.index + m[0].length;
    }
    p.appendChild(d.createTextNode(s.slice(i)));
    return p;
  }

  // ---- rendering ----------------------------------------------------------------------
  function attachment(a) {
    var url = safeUrl(a.url);
    if (!url) return el("span", null, a.filename || T.attachment);
    if (/^video\//.test(a.content_type)) {
      var v = el("video"); v.src = url; v.controls = true; v.preload = "metadata";
      return v;
    }
    var link = el("a", "hd-file"), thumb = a.thumbnail_url && safeUrl(a.thumbnail_url);
    link.href = url; link.target = "_blank"; link.rel = "noopener";
    if (thumb) {
      var img = el("img"); img.src = thumb; img.alt = a.filename || T.attachment; img.loading = "lazy";
      link.appendChild(img);
    } else link.textContent = a.filename || T.attachment;
    return link;
  }

  function card(c) {
    var url = safeUrl(c.url), a = el(url ? "a" : "div", "hd-product"), img = c.image_url && safeUrl(c.image_url), body = el("span");
    if (url) { a.href = url; a.target = "_blank"; a.rel = "noopener"; }
    if (img) { var i = el("img"); i.src = img; i.alt = ""; a.appendChild(i); }
    body.appendChild(el("strong", null, c.title || ""));
    if (c.price != null) body.appendChild(el("span", "hd-price", money(c.price, c.currency || "USD")));
    a.appendChild(body);
    return a;
  }

  // An in-store visit (booked, moved, cancelled): labels come translated from the server.
  function visit(a) {
    var c = el("div", "hd-visit" + (a.status === "cancelled" ? " hd-visit-x" : "")), dl = el("dl"), L = a.labels || {};
    c.appendChild(el("strong", null, a.heading));
    [[L.when, a.date + ", " + a.time + " (" + a.timezone + ")"], [L.where, a.location + (a.address ? ", " + a.address : "")],
     a.agent ? [L["with"], a.agent.name + (a.agent.title ? ", " + a.agent.title : "")] : null].forEach(function (r) {
      if (r) { dl.appendChild(el("dt", null, r[0])); dl.appendChild(el("dd", null, r[1])); }
    });
    c.appendChild(dl);
    return c;
  }

  function render(m) {
    var mine = m.author_type === "contact", e = el("div", "hd-msg " + (mine ? "hd-me" : "hd-them"));
    var who = mine ? "me" : "a" + (m.author ? m.author.id : "");
    if (!mine && who !== lastAuthor) {
      var row = el("div", "hd-author");
      row.appendChild(avatar(m.author));
      row.appendChild(el("span", null, (m.author && m.author.name) || T.agent));
      e.appendChild(row);
    }
    lastAuthor = who;
    var b = el("div", "hd-bubble");
    if (m.body_text && !m.appointment) b.appendChild(linkify(m.body_text));
    (m.attachments || []).forEach(function (a) { b.appendChild(attachment(a)); });
    if (m.card) b.appendChild(card(m.card));
    if (m.appointment) b.appendChild(visit(m.appointment));
    e.appendChild(b);
    var meta = el("div", "hd-meta");
    meta.appendChild(el("span", "hd-sr", (mine ? T.you : (m.author && m.author.name) || T.agent) + " "));
    meta.appendChild(el("time", null, time(m.created_at)));
    meta.appendChild(el("span", "hd-state"));
    e.appendChild(meta);
    return e;
  }

  function setState(e, txt) { e.querySelector(".hd-state").textContent = txt ? " · " + txt : ""; }

  function append(e, stick) {
    if (batch) return batch.appendChild(e);
    stick = stick || pinned;
    log.appendChild(e);
    if (stick) toBottom();
  }

  // Adds a server message once (by id); a pending bubble with the same client id becomes it.
  function add(m, live) {
    if (!m || !m.id || byId[m.id]) return;
    var mine = m.author_type === "contact", p = null, i;
    for (i = 0; mine && m.client_id && i < pending.length; i++) if (pending[i].cid === m.client_id) p = pending[i];
    var e = render(m);
    if (p) {
      pending.splice(pending.indexOf(p), 1);
      savePending();
      p.el.parentNode.replaceChild(e, p.el);
      if (p.prechat) S.emailGiven = S.emailGiven || !!p.prechat.email;
    } else append(e, mine);
    byId[m.id] = e;
    if (m.id > S.lastId) S.lastId = m.id;
    if (mine && live) S.ticket = {id: m.ticket_id, status: "open"};  // a shopper's message (re)opens the chat
    if (mine) {
      ownIds.push(m.id);
      if (m.read_at && m.id > S.readUpTo) S.readUpTo = m.id;
    } else {
      if (m.id > S.agentMax) S.agentMax = m.id;
      if (m.author && m.author.name) agentHeader(m.author);
      if (m.read_at) S.readSent = Math.max(S.readSent, m.id);
      else if (live || !S.open) S.unread++;
      if (live) showTyping(false);
    }
    if (live) toParent({t: "message", message: {id: m.id, author_type: m.author_type, body_text: m.body_text}});
    if (!batch) syncUi();
  }

  function agentHeader(author) {
    agentName = author.name;
    var role = $("hd-role");
    $("hd-title").textContent = author.name;
    role.textContent = author.title || "";
    show(role, !!author.title);
    show($("hd-status"), !author.title);  // the title takes the status line's place
    var a = avatar(author);
    a.id = "hd-avatar";
    $("hd-avatar").replaceWith(a);
  }

  function syncUi() {
    // "Read" under the newest own message the agent has read.
    for (var i = ownIds.length - 1; i >= 0; i--) {
      if (ownIds[i] <= S.readUpTo) { byId[ownIds[i]].querySelector(".hd-meta").appendChild(readMark); break; }
    }
    show(endBtn, !!S.ticket && S.ticket.status !== "resolved" && S.ticket.status !== "closed");
    markRead();
    if (!S.open) toParent({t: "unread", n: S.unread});
  }

  function markRead() {
    if (!S.open || d.hidden) return;
    if (socket && socket.connected && S.agentMax > S.readSent) {
      S.readSent = S.agentMax;
      socket.emit("read", {up_to_id: S.agentMax});
    }
    if (S.unread) { S.unread = 0; toParent({t: "unread", n: 0}); }
  }

  function system(txt) {
    append(el("p", "hd-system", txt));
    lastAuthor = null;
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    typingEl.textContent = on ? T.typing.replace("{name}", agentName || T.agent) : "";
    if (on) typingTimer = setTimeout(showTyping, 8000, false);
  }

  function applyStore(st) {
    S.store = st;
    var off = $("hd-offline");
    off.textContent = st.offline_message || T.offline;
    show(off, !st.online);
    $("hd-status").textContent = st.online ? T.online : T.offline;
    $("hd-greeting").textContent = st.greeting || "";
    setupForm();
  }

  // ---- pre-chat form: before the first message only (and an email when offline) ---------
  function setupForm() {
    var pc = S.store.prechat || {}, f = pc.fields || {}, any = false;
    var fresh = pc.enabled !== false && !S.lastId && !pending.length && !S.contact;
    var needEmail = !S.store.online && !(S.contact && S.contact.has_email) && !S.emailGiven;
    Array.prototype.forEach.call(prechat.querySelectorAll("[data-field]"), function (label) {
      var k = label.getAttribute("data-field"), mode = fresh ? f[k] || "off" : "off";
      if (k === "email" && needEmail) mode = "required";
      var input = label.querySelector("input,select");
      show(label, mode !== "off");
      input.required = mode === "required";
      input.disabled = mode === "off";
      show(label.querySelector(".hd-opt"), mode === "optional");
      any = any || mode !== "off";
    });
    show(prechat, any);
  }

  // false: the form is not valid yet (the browser says why); null: no form; else the values.
  function takePrechat() {
    if (prechat.hidden) return null;
    if (!prechat.reportValidity()) return false;
    var out = {}, n = 0;
    Array.prototype.forEach.call(prechat.elements, function (i) { if (i.name && !i.disabled && i.value.trim()) { out[i.name] = i.value.trim(); n++; } });
    show(prechat, false);
    return n ? out : null;
  }

  // ---- sending: pending until acked, resent with the same client id -----------------
  function savePending() {
    store("pending", pending.map(function (p) { return {cid: p.cid, body: p.body, attachments: p.attachments, shown: p.shown, prechat: p.prechat}; }));
  }

  function queue(p) {
    p.el = render({author_type: "contact", body_text: p.body, attachments: p.shown || []});
    p.el.classList.add("hd-pending");
    setState(p.el, T.sending);
    append(p.el, true);
    pending.push(p);
    savePending();
  }

  function send(body, attachments, shown, pre) {
    queue({cid: uuid(), body: body, attachments: attachments || [], shown: shown, prechat: pre});
    pump();
  }

  function failed(p, err) {
    pending.splice(pending.indexOf(p), 1);
    savePending();
    p.el.remove();
    if (p.body) text.value = p.body + (text.value ? "\n" + text.value : "");
    var status = err && err.status;
    error(status === 429 ? T.flood : status === 413 ? T.too_long : (err && err.message) || T.failed);
    if (p.prechat) setupForm();
  }

  function pump() {
    if (inflight || !socket || !socket.connected || !pending.length) return;
    var p = inflight = pending[0], attempt = p.attempt = (p.attempt || 0) + 1;
    var data = {client_id: p.cid, body: p.body, attachments: p.attachments};
    if (p.prechat) data.prechat = p.prechat;
    socket.timeout(15000).emit("message", data, function (err, ack) {
      if (inflight !== p || p.attempt !== attempt) return;
      inflight = null;
      if (err || !ack) {  // no answer in time: keep it, try again (same client id)
        setState(p.el, T.not_sent);
        return setTimeout(pump, 2000);
      }
      if (ack.ok) {
        if (byId[ack.message.id]) { if (pending.indexOf(p) >= 0) { pending.splice(pending.indexOf(p), 1); p.el.remove(); savePending(); } }
        else add(ack.message, false);
        if (ack.offline === S.store.online) { S.store.online = !ack.offline; applyStore(S.store); }
        S.contact = S.contact || {has_email: S.emailGiven};
        S.ticket = {id: ack.message.ticket_id, status: "open"};
        syncUi();
      } else failed(p, ack.error);
      pump();
    });
  }

  function submit(e) {
    if (e) e.preventDefault();
    error("");
    var body = text.value.trim();
    if (!body) return;
    if (body.length > boot.max_length) return error(T.too_long);
    var pre = takePrechat();
    if (pre === false) return;
    text.value = "";
    grow();
    stopTyping();
    send(body, [], null, pre);
  }

  function upload(file) {
    error("");
    if (file.size > boot.max_upload) return error(T.too_big);
    var pre = takePrechat();
    if (pre === false) return;
    var form = new FormData();
    form.append("file", file);
    typingEl.textContent = T.uploading;
    fetch("/widget/api/uploads", {method: "POST", headers: {"X-Visitor-Token": S.token}, body: form})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, j: j}; }); })
      .then(function (r) {
        if (!r.ok) { if (pre) setupForm(); return error(r.j.message || T.upload_failed); }
        var body = text.value.trim();
        text.value = "";
        send(body, [r.j.id], [r.j], pre);
      })
      .catch(function () { error(T.upload_failed); })
      .then(function () { typingEl.textContent = ""; $("hd-file").value = ""; });
  }

  // ---- typing -------------------------------------------------------------------------
  var typingOn = false, typingIdle;
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingOn && socket && socket.connected) socket.emit("typing", {typing: false});
    typingOn = false;
  }
  function grow() {
    text.style.height = "auto";
    text.style.height = Math.min(text.scrollHeight, 120) + "px";
  }
  text.addEventListener("input", function () {
    grow();
    if (!socket || !socket.connected || !S.ticket) return;
    if (!typingOn) { typingOn = true; socket.emit("typing", {typing: true}); }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 2500);
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
  });
  $("hd-compose").addEventListener("submit", submit);
  $("hd-file").addEventListener("change", function () { if (this.files[0]) upload(this.files[0]); });

  // ---- end and rating -----------------------------------------------------------------
  endBtn.addEventListener("click", function () {
    if (!socket || !socket.connected) return;
    socket.emit("end", {}, function (ack) {
      if (ack && ack.ok && ack.ticket_id) ended(ack.ticket_id);
    });
  });

  function ended(ticketId) {
    if (S.ticket && S.ticket.id === ticketId) S.ticket.status = "resolved";
    show(endBtn, false);
    if (S.rated[ticketId] || (rateFor === ticketId && !rate.hidden)) return;
    store("asked", ticketId);
    system(T.ended);
    rateFor = ticketId;
    rate.reset();
    stars(0);
    $("hd-rate-error").textContent = "";
    scroller.appendChild(rate);
    show(rate, true);
    toBottom();
    if (S.open) $("hd-r1").focus();
  }

  function stars(n) {
    Array.prototype.forEach.call(rate.querySelectorAll(".hd-stars label"), function (l, i) { l.classList.toggle("hd-on", i < n); });
    show($("hd-pos"), n === 5);
    show($("hd-neg"), n > 0 && n < 5);
  }

  rate.addEventListener("change", function (e) {
    $("hd-rate-error").textContent = "";
    if (e.target.name === "rating") stars(+e.target.value);
  });
  rate.addEventListener("submit", function (e) {
    e.preventDefault();
    var checked = rate.querySelector("[name=rating]:checked"), n = checked ? +checked.value : 0, msg = $("hd-rate-error");
    var box = n === 5 ? "#hd-pos" : "#hd-neg";
    var reasons = Array.prototype.map.call(rate.querySelectorAll(box + " :checked"), function (i) { return i.value; });
    if (!n) return (msg.textContent = T.choose_stars);
    if (n < 5 && !reasons.length) return (msg.textContent = T.choose_reason);
    socket.emit("rate", {ticket_id: rateFor, rating: n, reasons: reasons, comment: rate.elements.comment.value.trim()}, function (ack) {
      if (!ack || !ack.ok) return (msg.textContent = (ack && ack.error && ack.error.message) || T.failed);
      S.rated[rateFor] = true;
      show(rate, false);
      system(T.thanks);
    });
  });

  // ---- the connection -----------------------------------------------------------------
  function session() {
    return fetch("/widget/api/session", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({key: boot.key, token: S.token, page: S.page, locale: S.store.locale || null,
                            timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || null})
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (j) {
      S.token = j.token;
      store("token", j.token);
      toParent({t: "token", token: j.token});
      S.contact = j.contact;
      S.ticket = j.ticket;
      return j;
    });
  }

  function connect() {
    socket = io("/widget", {auth: function (cb) { cb({token: S.token}); }});
    socket.on("connect", function () {
      show($("hd-conn"), false);
      socket.emit("resume", {last_id: S.lastId}, function (ack) {
        if (ack && ack.ok) {
          ack.messages.forEach(function (m) { add(m, true); });
          if (ack.ticket) S.ticket = ack.ticket;
          syncUi();
        }
        while (later.length) later.shift()();
        pump();
      });
    });
    socket.on("disconnect", function (why) {
      inflight = null;
      show($("hd-conn"), true);
      // Ended by the server, not the network: this customer's data was erased. Nothing of it
      // stays on screen or in storage; a new, empty session starts (the old token resumes none).
      if (why === "io server disconnect") {
        S.lastId = S.agentMax = S.readSent = S.readUpTo = S.unread = 0;
        S.contact = S.ticket = null;
        S.rated = {};
        byId = {}; ownIds = []; pending = []; lastAuthor = null;
        savePending();
        log.textContent = "";
        S.emailGiven = false;
        session().then(function () { setupForm(); syncUi(); socket.connect(); }, function () { setTimeout(function () { socket.connect(); }, 5000); });
      }
    });
    socket.on("connect_error", function () {
      show($("hd-conn"), true);
      // Refused by the server (token expired or unknown): get a fresh session, then retry.
      if (!socket.active) setTimeout(function () { session().then(function () { socket.connect(); }, function () { setTimeout(function () { socket.connect(); }, 5000); }); }, 1000);
    });
    socket.on("message.created", function (p) { add(p.message, true); });
    socket.on("typing", function (p) { if (p.who === "agent") showTyping(p.typing); });
    socket.on("message.read", function (p) {
      if (p.reader === "agent" && p.up_to_id > S.readUpTo) { S.readUpTo = p.up_to_id; syncUi(); }
    });
    socket.on("conversation.status", function (p) {
      if (S.ticket && S.ticket.id === p.ticket_id) S.ticket.status = p.status;
      syncUi();
    });
    // An agent merged this chat into another ticket: the same messages, going on there.
    socket.on("conversation.merged", function (p) {
      if (S.ticket && S.ticket.id === p.ticket_id) S.ticket = {id: p.into_ticket_id, status: p.status};
      syncUi();
    });
    socket.on("rating.requested", function (p) { ended(p.ticket_id); });
    socket.on("store.online", function (p) { S.store.online = !!p.online; applyStore(S.store); });
  }

  // Asked for when the shopper opened the panel; done once the session has loaded.
  function focusFirst() {
    if (S.focus && !text.disabled) {
      S.focus = false;
      (prechat.hidden ? text : prechat.querySelector("input:enabled,select:enabled") || text).focus();
    }
  }

  // A proactive rule matched in the page: the server applies the frequency cap.
  function invitation(ruleId) {
    fetch("/widget/api/invitations", {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify({token: S.token, rule_id: ruleId})})
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (!j.show) return;
        append(el("p", "hd-greeting", j.message), true);
        lastAuthor = null;
        toParent({t: "open"});
      }, function () {});
  }

  // Calls from the page (Helpdesk.identify / setAttributes) wait for the connection.
  function whenConnected(fn) { if (socket && socket.connected) fn(); else later.push(fn); }

  function start() {
    session().then(function (j) {
      batch = d.createDocumentFragment();  // the whole history in one DOM insertion
      j.messages.forEach(function (m) { add(m, false); });
      log.appendChild(batch);
      batch = null;
      (store("pending") || []).forEach(queue);  // left unsent on a previous page: resent with the same id
      applyStore(j.store);
      text.disabled = $("hd-file").disabled = false;
      focusFirst();
      syncUi();
      toBottom();
      // A chat that ended while the shopper was away (an agent resolved it): asked once.
      if (j.ticket && j.ticket.status === "resolved" && !j.ticket.rated && store("asked") !== j.ticket.id) ended(j.ticket.id);
      connect();
      toParent({t: "ready", labels: {open: T.open, close: T.close, title: T.title}});
    }, function () { error(T.unavailable); });
  }

  window.addEventListener("message", function (e) {
    var m = e.data;
    if (!framed || e.source !== window.parent || e.origin !== parentOrigin || !m || m.hd !== 1) return;
    if (m.t === "init") {
      S.token = S.token || m.token || null;
      S.page = m.page || null;
      S.open = !!m.open;
      if (!socket) start();
    } else if (m.t === "open") {
      S.open = true;
      markRead();
      if (m.focus) { S.focus = true; focusFirst(); }
    } else if (m.t === "close") S.open = false;
    else if (m.t === "identify" && m.d) whenConnected(function () {
      socket.emit("identify", m.d, function (ack) {
        if (ack && ack.ok) { S.contact = {has_email: !!m.d.email || (S.contact && S.contact.has_email)}; ack.messages.forEach(function (x) { add(x, false); }); setupForm(); }
      });
    });
    else if (m.t === "attributes" && m.d) whenConnected(function () { socket.emit("attributes", {attributes: m.d}); });
    else if (m.t === "rule" && m.id) whenConnected(function () { invitation(m.id); });
  });

  d.addEventListener("visibilitychange", markRead);
  d.addEventListener("keydown", function (e) { if (e.key === "Escape") toParent({t: "close"}); });
  $("hd-close").addEventListener("click", function () { toParent({t: "close"}); });
  show($("hd-close"), framed);
  S.token = store("token") || null;
  if (framed) toParent({t: "hello"});
  else start();
})();
