// The agents' inbox: wires the queue, the open conversations (tabs), the context panel and
// the dialogs to the /inbox Socket.IO namespace. Socket.IO delivers at most once, so after
// every reconnect the page asks `resume` for what it missed and merges it (by message id).
import { Assist } from './assist.js';
import { Appointments } from './appointments.js';
import { ColleagueMarks } from './colleague_marks.js';
import { ContextPanel } from './context.js';
import { Conversation } from './conversation.js';
import { Dialogs } from './dialogs.js';
import { Faq } from './faq.js';
import { Home } from './home.js';
import { TicketMerge } from './merge.js';
import { Offers } from './offers.js';
import { Posts } from './posts.js';
import { Queue } from './queue.js';
import { announce, api, boot, t } from './util.js';
import { bindLanguage } from './language.js';

const CALL_TIMEOUT_MS = 10000;
const MAX_TABS = 8;

class Inbox {
  constructor() {
    this.me = boot.me;
    this.conversations = new Map();
    this.order = [];
    this.active = null;
    this.previous = null; // shown beside the active one on wide screens
    this.wide = window.matchMedia('(min-width: 1700px)');
    this.lastId = boot.last_message_id || 0;
    this.connectedOnce = false;
    this.kicked = false; // the server ended the socket (access changed); see connect()
    this.baseTitle = document.title;
    this.layout = document.getElementById('layout');
    this.tabsEl = document.getElementById('conv-tabs');
    this.panelsEl = document.getElementById('conv-panels');
    this.emptyEl = document.getElementById('conv-empty');
    this.colleagueMarks = new ColleagueMarks(this); // before the queue: its rows show the marks
    this.queue = new Queue(this);
    this.contextPanel = new ContextPanel(this);
    this.dialogs = new Dialogs(this);
    this.offers = new Offers(this);
    this.assist = new Assist(this);
    this.contextPanel.clear();
    this.bindHeader();
    this.bindKeys();
    this.connect();
    this.appointments = new Appointments(this);
    this.merge = new TicketMerge(this);
    this.home = new Home(this);
    this.posts = new Posts(this);
    this.faq = new Faq(this);
    this.queue.load();
    this.queue.loadCounts();
    this.restoreTabs();
    this.wide.addEventListener('change', () => this.arrangeSplit());
    document.addEventListener('visibilitychange', () => this.seenActive());
    window.addEventListener('focus', () => this.seenActive());
  }

  // ---- socket --------------------------------------------------------------------------

  connect() {
    const socket = window.io('/inbox', { transports: ['websocket', 'polling'], withCredentials: true });
    this.socket = socket;
    const state = document.getElementById('conn-state');
    socket.on('connect', () => {
      state.hidden = true;
      document.body.dataset.connected = 'true';
      this.kicked = false;
      if (this.connectedOnce) this.resume();
      this.connectedOnce = true;
    });
    socket.on('disconnect', (reason) => {
      state.hidden = false;
      // Who else is in a conversation is known again after the reconnect (open -> answers).
      for (const conv of this.conversations.values()) conv.clearColleagues();
      this.colleagueMarks.clear();
      document.body.dataset.connected = 'false';
      // The server ends an agent's sockets when their access changes (deactivated, new role or
      // stores): rooms are chosen at connect. Socket.IO does not reconnect after that by itself;
      // reconnect once, to the rooms this agent may join now.
      if (reason === 'io server disconnect') {
        this.kicked = true;
        socket.connect();
      }
    });
    socket.on('connect_error', () => {
      state.hidden = false;
      // That reconnect refused by the server (not a network failure: those retry on their own,
      // socket.active): the account may no longer sign in. The reload lands on the login page.
      if (this.kicked && !socket.active) {
        state.textContent = t('access_changed');
        window.setTimeout(() => window.location.reload(), 2000);
      }
    });
    socket.on('ticket.created', ({ ticket }) => this.onTicketCreated(ticket));
    socket.on('ticket.updated', ({ ticket, changes }) => this.onTicketUpdated(ticket, changes));
    socket.on('message.created', ({ message }) => this.onMessage(message));
    socket.on('message.updated', ({ message }) => {
      const conv = this.conversations.get(message.ticket_id);
      if (conv) conv.merge([message]);
    });
    socket.on('message.read', (data) => this.onRead(data));
    socket.on('chat.offered', ({ ticket, expires_at: expiresAt }) => this.offers.show(ticket, expiresAt));
    socket.on('offer.withdrawn', ({ ticket_id: ticketId }) => this.offers.remove(ticketId));
    socket.on('typing', (data) => this.onTyping(data));
    socket.on('assist.result', (data) => this.assist.onResult(data));
    socket.on('handoff.received', (data) => this.onHandoff(data));
    socket.on('note.mention', ({ message }) => this.onMention(message));
    socket.on('contact.updated', ({ contact }) => this.contactUpdated(contact));
    socket.on('contact.erased', (data) => this.contextPanel.privacy.onErased(data));
    // Admins only (the server sends it to their own rooms): a shop platform passed on a
    // customer's request for their data; the store's settings page lists it with the export.
    socket.on('privacy.data_request', ({ store_id: storeId, store_name: store }) => {
      this.toast(t('privacy_data_request', { store }), 'info', {
        label: t('open'),
        run: () => { window.location.href = `/inbox/settings/stores/${storeId}#data-requests`; },
      });
    });
    socket.on('visitor.updated', ({ visitor }) => this.contextPanel.visitorUpdated(visitor));
    socket.on('agent.availability', ({ agent }) => {
      if (agent.id === this.me.id) document.getElementById('availability').value = agent.availability;
    });
    // My signature or a store's changed (maybe in another tab): the reply boxes say what
    // will end an emailed reply, so they read it again rather than wait for a reload.
    socket.on('signature.changed', () => this.refreshSignatures());
    socket.on('colleague', (data) => this.onColleague(data));
    socket.on('ticket.colleague', (data) => this.colleagueMarks.onEvent(data));
    // Leaving the page (closed, reloaded, gone elsewhere): end the socket with a goodbye, so
    // colleagues see me leave its conversations at once, not when the server's ping timeout
    // notices a silent socket. (Not beforeunload: it may be cancelled, and mobile browsers
    // skip it.) A page the browser kept, and shows again on Back, connects again.
    window.addEventListener('pagehide', () => socket.disconnect());
    window.addEventListener('pageshow', (ev) => { if (ev.persisted) socket.connect(); });
    // My name changed on the profile page of another tab or device: the top bar and the
    // menu show it, and a store signature with {agent_name} carries it too.
    socket.on('agent.updated', ({ agent }) => {
      if (agent.id !== this.me.id || agent.name === this.me.name) return;
      this.me.name = agent.name;
      document.querySelectorAll('.topbar .me, .topbar .menu-heading').forEach((el) => { el.textContent = agent.name; });
      this.refreshSignatures();
    });
  }

  async refreshSignatures() {
    let stores;
    try {
      ({ items: stores } = await api.get('/api/v1/stores'));
    } catch (err) {
      return; // the next change, or a reload, tries again; the mail itself is always right
    }
    for (const store of stores) {
      const known = boot.stores.find((s) => s.id === store.id);
      if (known) known.signature = store.signature;
    }
    for (const conv of this.conversations.values()) conv.showSignature();
  }

  /** Emit with an acknowledgement; retries (same payload, so the same client_id) on timeout. */
  async call(event, data, retries = 0) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.socket.timeout(CALL_TIMEOUT_MS).emitWithAck(event, data);
      } catch (err) {
        if (attempt >= retries) return { ok: false, error: { message: t('not_sent'), status: 0 } };
      }
    }
  }

  noteSeen(id) {
    if (id > this.lastId) this.lastId = id;
  }

  async resume() {
    // Messages missed while disconnected (every visible store), then rejoin ticket rooms.
    for (let round = 0; round < 20; round += 1) {
      const ack = await this.call('resume', { last_id: this.lastId });
      if (!ack.ok) break;
      for (const message of ack.messages) this.onMessage(message, { replayed: true });
      if (ack.messages.length < boot.replay_limit) break; // else more are waiting: page on
    }
    for (const conv of this.conversations.values()) conv.reopen();
    this.queue.load();
    this.queue.loadCounts();
  }

  // ---- events --------------------------------------------------------------------------

  onTicketCreated(ticket) {
    this.queue.upsert(ticket);
    this.queue.refreshCounts();
    const name = ticket.contact ? ticket.contact.display_name : '';
    this.notify(ticket.channel === 'chat' ? t('notify_new_chat', { name }) : t('notify_new_ticket', { name }),
      ticket.last_message_preview || ticket.subject || '', ticket.id);
  }

  onTicketUpdated(ticket, changes = []) {
    this.offers.ticketChanged(ticket);
    this.queue.upsert(ticket);
    this.queue.refreshCounts();
    const conv = this.conversations.get(ticket.id);
    if (conv) conv.setTicket(ticket);
    if (conv && conv.context) conv.context.ticket = ticket;
    // The customer just rated it: the context panel shows the stars.
    if (conv && changes.includes('rating') && this.contextPanel.conv === conv) this.contextPanel.render(conv);
  }

  onMessage(message, { replayed = false } = {}) {
    this.noteSeen(message.id);
    const conv = this.conversations.get(message.ticket_id);
    const added = conv ? conv.merge([message]) : 1;
    const fromContact = message.author_type === 'contact' && message.kind === 'message';
    if (!fromContact || !added) return;
    const seen = conv && conv.isSeen();
    if (!seen) this.queue.bumpUnread(message.ticket_id, message.id);
    this.queue.refreshCounts();
    const name = message.author ? message.author.name : '';
    // Sound and desktop notifications for my conversations and unclaimed ones, not colleagues'.
    const ticket = this.queue.tickets.get(message.ticket_id) || (conv && conv.ticket);
    const mineOrFree = !ticket || !ticket.assignee || ticket.assignee.id === this.me.id;
    if (!replayed && !seen && mineOrFree) {
      this.notify(t('notify_new_message', { name }), message.body_text, message.ticket_id);
    }
    if (!replayed) announce(t('announce_message', { name, text: message.body_text.slice(0, 140) }));
  }

  onRead({ ticket_id: ticketId, up_to_id: upTo, reader }) {
    const conv = this.conversations.get(ticketId);
    if (conv && reader === 'contact') conv.markReadByContact(upTo);
  }

  onTyping({ ticket_id: ticketId, who, typing }) {
    if (who !== 'contact') return;
    this.queue.setTyping(ticketId, typing);
    const conv = this.conversations.get(ticketId);
    if (conv) conv.setTypingShown(typing);
  }

  // A colleague opened, left or is answering a conversation I have open. My own other tabs
  // are not colleagues. To one who just arrived I say what I am doing here.
  onColleague({ ticket_id: ticketId, agent, state, answer }) {
    const conv = this.conversations.get(ticketId);
    if (!conv || agent.id === this.me.id) return;
    conv.setColleague(agent, state);
    if (state === 'joined' && !answer) this.call('here', { ticket_id: ticketId, state: conv.myState() });
  }

  onHandoff({ ticket, handoff }) {
    this.queue.upsert(ticket);
    this.queue.refreshCounts();
    const from = handoff.from_agent ? handoff.from_agent.name : t('system');
    const title = t('notify_handoff', { agent: from, id: ticket.id });
    this.notify(title, handoff.note || '', ticket.id, { force: true });
    this.toast(handoff.note ? `${title}: ${handoff.note}` : title, 'info', {
      label: t('open'), run: () => this.openTicket(ticket.id),
    });
    const conv = this.conversations.get(ticket.id);
    if (conv) conv.setTicket(ticket);
  }

  onMention(message) {
    const name = message.author ? message.author.name : '';
    this.notify(t('notify_mention', { name }), message.body_text, message.ticket_id, { force: true });
    this.toast(t('notify_mention', { name }), 'info', { label: t('open'), run: () => this.openTicket(message.ticket_id) });
  }

  contactUpdated(contact) {
    this.queue.contactUpdated(contact);
    this.contextPanel.contactUpdated(contact);
    for (const conv of this.conversations.values()) {
      if (conv.ticket && conv.ticket.contact && conv.ticket.contact.id === contact.id) {
        conv.setTicket({ ...conv.ticket, contact: { ...conv.ticket.contact, ...contact } });
      }
    }
  }

  // ---- conversations (tabs) ------------------------------------------------------------

  activeTicketId() {
    return this.active;
  }

  /** Is this conversation on screen (the active one, or the one beside it on wide screens)? */
  isVisible(id) {
    return id === this.active || (this.wide.matches && id === this.previous && this.conversations.has(id));
  }

  arrangeSplit() {
    const split = this.wide.matches && this.previous !== null && this.conversations.has(this.previous);
    for (const [id, conv] of this.conversations) {
      const beside = split && id === this.previous;
      conv.el.classList.toggle('secondary', beside);
      if (id !== this.active) conv.el.hidden = !beside;
      if (beside) conv.maybeMarkRead();
    }
    this.panelsEl.classList.toggle('split', split);
  }

  async openTicket(id) {
    if (!this.conversations.has(id)) {
      if (this.order.length >= MAX_TABS) this.closeConversation(this.order.find((x) => x !== this.active));
      const conv = new Conversation(this, id, this.queue.tickets.get(id) || null);
      if (conv.ticket) conv.setTicket(conv.ticket);
      this.conversations.set(id, conv);
      this.order.push(id);
      this.tabsEl.append(conv.tab);
      this.panelsEl.append(conv.el);
      this.activate(id);
      const ok = await conv.load();
      if (!ok) this.toast(t('cannot_open'), 'error');
      this.saveTabs();
      // Loading can take a while: if the agent has moved to another tab meanwhile, the
      // cursor stays where they are typing.
      if (this.active === id) conv.textarea.focus();
      return;
    }
    this.activate(id);
    this.conversations.get(id).textarea.focus();
  }

  activate(id) {
    if (!this.conversations.has(id)) return;
    if (this.active && this.active !== id && this.conversations.has(this.active)) {
      this.conversations.get(this.active).hide();
      this.previous = this.active;
    }
    this.active = id;
    const conv = this.conversations.get(id);
    conv.show();
    this.emptyEl.hidden = true;
    this.tabsEl.hidden = false;
    this.contextPanel.render(conv);
    this.queue.markActive();
    this.showPane('conv');
    this.arrangeSplit();
    this.saveTabs();
  }

  closeConversation(id) {
    const conv = this.conversations.get(id);
    if (!conv) return;
    this.call('close', { ticket_id: id });
    conv.destroy();
    this.conversations.delete(id);
    const index = this.order.indexOf(id);
    this.order.splice(index, 1);
    if (this.previous === id) this.previous = null;
    if (this.active === id) {
      this.active = null;
      const next = this.order[Math.min(index, this.order.length - 1)];
      if (next) this.activate(next);
      else {
        this.emptyEl.hidden = false;
        this.tabsEl.hidden = true;
        this.contextPanel.clear();
        this.queue.markActive();
        this.showPane('list');
      }
    }
    this.arrangeSplit();
    this.saveTabs();
  }

  cycle(step) {
    if (!this.order.length) return;
    const index = this.order.indexOf(this.active);
    const next = this.order[(index + step + this.order.length) % this.order.length];
    this.activate(next);
    const conv = this.conversations.get(next);
    conv.tabBtn.focus();
  }

  seenActive() {
    const conv = this.conversations.get(this.active);
    if (conv) conv.maybeMarkRead();
  }

  saveTabs() {
    sessionStorage.setItem('inbox.tabs', JSON.stringify({ order: this.order, active: this.active }));
  }

  restoreTabs() {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem('inbox.tabs') || 'null'); } catch (err) { saved = null; }
    if (!saved || !Array.isArray(saved.order)) return;
    for (const id of saved.order.filter(Number.isInteger)) this.openTicket(id);
    if (saved.active && saved.order.includes(saved.active)) window.setTimeout(() => this.activate(saved.active), 0);
    if (window.matchMedia('(max-width: 760px)').matches) this.showPane('list');
  }

  /** Back to the home panel: the open conversations stay as tabs. */
  showHome() {
    if (this.active && this.conversations.has(this.active)) {
      this.conversations.get(this.active).hide();
    }
    this.active = null;
    this.previous = null; // nothing beside the home panel on wide screens
    this.emptyEl.hidden = false;
    this.contextPanel.clear();
    this.queue.markActive();
    this.showPane('conv');
    this.arrangeSplit();
    this.home.load();
    document.getElementById('home-title').focus();
  }

  /** Set my availability through the REST API (the header's select and the home nudge). */
  async setAvailability(wanted) {
    const select = document.getElementById('availability');
    try {
      const me = await api.put('/api/v1/agents/me/availability', { availability: wanted });
      this.me.availability = me.availability;
      select.value = me.availability;
      this.toast(t('availability_set', { status: t(`availability_${me.availability}`) }));
    } catch (err) {
      select.value = this.me.availability;
      this.toast(err.message, 'error');
    }
  }

  // ---- layout --------------------------------------------------------------------------

  /** Phones show one pane at a time: the list, a conversation or its context. */
  showPane(pane) {
    this.layout.dataset.pane = pane;
    if (pane !== 'context') this.layout.classList.remove('context-open');
  }

  closeViews() {
    this.layout.classList.remove('views-open');
    document.getElementById('toggle-views').setAttribute('aria-expanded', 'false');
  }

  toggleContext() {
    const open = !this.layout.classList.contains('context-open');
    this.layout.classList.toggle('context-open', open);
    if (window.matchMedia('(max-width: 760px)').matches) this.layout.dataset.pane = open ? 'context' : 'conv';
    if (open) document.getElementById('context').focus();
  }

  bindKeys() {
    document.addEventListener('keydown', (ev) => {
      const prev = (ev.altKey && ev.key === 'ArrowUp') || (ev.ctrlKey && ev.key === '[');
      const next = (ev.altKey && ev.key === 'ArrowDown') || (ev.ctrlKey && ev.key === ']');
      if (prev || next) {
        ev.preventDefault();
        this.cycle(next ? 1 : -1);
        return;
      }
      if (ev.altKey && (ev.key === 'w' || ev.key === 'W') && this.active) {
        ev.preventDefault();
        this.closeConversation(this.active);
        return;
      }
      if (ev.key === 'Escape' && !document.querySelector('dialog[open]')) {
        if (this.layout.classList.contains('views-open')) this.closeViews();
        else if (this.layout.classList.contains('context-open')) this.toggleContext();
      }
      const inField = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
      if (!inField && ev.key === '/' && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        document.getElementById('search').focus();
      }
    });
    // Arrow keys move between tabs (the ARIA tabs pattern).
    this.tabsEl.addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
        ev.preventDefault();
        this.cycle(ev.key === 'ArrowRight' ? 1 : -1);
      } else if (ev.key === 'Delete' && ev.target.getAttribute('role') === 'tab') {
        ev.preventDefault();
        this.closeConversation(Number(ev.target.closest('.tab-wrap').dataset.ticketId));
        const next = this.conversations.get(this.active);
        if (next) next.tabBtn.focus();
      }
    });
  }

  // ---- header: availability, notifications ---------------------------------------------

  bindHeader() {
    const availability = document.getElementById('availability');
    availability.value = this.me.availability;
    availability.addEventListener('change', async () => {
      const wanted = availability.value;
      try {
        const me = await api.put('/api/v1/agents/me/availability', { availability: wanted });
        this.me.availability = me.availability;
        this.toast(t('availability_set', { status: t(`availability_${me.availability}`) }));
      } catch (err) {
        availability.value = this.me.availability;
        this.toast(err.message, 'error');
      }
    });
    bindLanguage(document.getElementById('agent-language'), (err) => this.toast(err.message, 'error'));
    const desktop = document.getElementById('notify-desktop');
    const sound = document.getElementById('notify-sound');
    desktop.checked = localStorage.getItem('inbox.notify.desktop') === '1'
      && 'Notification' in window && Notification.permission === 'granted';
    sound.checked = localStorage.getItem('inbox.notify.sound') !== '0';
    desktop.addEventListener('change', async () => {
      if (desktop.checked && 'Notification' in window && Notification.permission !== 'granted') {
        const permission = await Notification.requestPermission();
        if (permission !== 'granted') {
          desktop.checked = false;
          this.toast(t('notifications_blocked'), 'error');
        }
      }
      localStorage.setItem('inbox.notify.desktop', desktop.checked ? '1' : '0');
    });
    sound.addEventListener('change', () => {
      localStorage.setItem('inbox.notify.sound', sound.checked ? '1' : '0');
      if (sound.checked) this.beep();
    });
    // Browsers only allow audio after a gesture: create the context on the first one.
    document.addEventListener('pointerdown', () => this.audioContext(), { once: true });
    document.getElementById('context-close').addEventListener('click', () => this.toggleContext());
    document.getElementById('toggle-views').addEventListener('click', (ev) => {
      const open = this.layout.classList.toggle('views-open');
      ev.currentTarget.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
  }

  audioContext() {
    if (!this.audio && (window.AudioContext || window.webkitAudioContext)) {
      this.audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    return this.audio;
  }

  beep() {
    const ctx = this.audioContext();
    if (!ctx || ctx.state === 'suspended') return;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.3);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.3);
  }

  notify(title, body, ticketId, { force = false } = {}) {
    const conv = this.conversations.get(ticketId);
    if (!force && conv && conv.isSeen()) return;
    if (localStorage.getItem('inbox.notify.sound') !== '0') this.beep();
    if (localStorage.getItem('inbox.notify.desktop') === '1' && 'Notification' in window
        && Notification.permission === 'granted' && (document.visibilityState !== 'visible' || !document.hasFocus())) {
      const n = new Notification(title, { body: (body || '').slice(0, 200), tag: `ticket-${ticketId}` });
      n.onclick = () => { window.focus(); this.openTicket(ticketId); n.close(); };
    }
  }

  updateTitle() {
    const n = this.queue.totalUnread();
    document.title = n ? `(${n}) ${this.baseTitle}` : this.baseTitle;
  }

  toast(message, kind = 'info', action = null) {
    const region = document.getElementById(kind === 'error' ? 'toasts-alert' : 'toasts');
    const item = document.createElement('div');
    item.className = `toast toast-${kind}`;
    const text = document.createElement('span');
    text.textContent = message;
    item.append(text);
    if (action) {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.textContent = action.label;
      btn.addEventListener('click', () => { action.run(); item.remove(); });
      item.append(btn);
    }
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'toast-close';
    close.textContent = '×';
    close.setAttribute('aria-label', t('dismiss'));
    close.addEventListener('click', () => item.remove());
    item.append(close);
    region.append(item);
    window.setTimeout(() => item.remove(), kind === 'error' ? 10000 : 6000);
  }
}

window.inbox = new Inbox();
