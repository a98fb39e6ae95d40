// One open conversation: its tab, timeline (messages, internal notes, events), read state,
// typing indicator, header actions (claim, transfer, status) and the reply box with drafts,
// saved replies ("/", savedreplies.js), attachments and product cards.
import { SavedReplyPicker } from './savedreplies.js';
import { replyDueMark } from './reply_due.js';
import {
  announce, api, boot, channelIcon, fmtDateTime, fmtPrice, fmtTime, h, listNames, locale, safeUrl, statusLabel, t, uuid,
} from './util.js';

/** The language a message is written in (detected on the server), named in the agent's language. */
const languageNames = new Intl.DisplayNames([locale], { type: 'language', fallback: 'code' });
function languageBadge(code) {
  if (!code) return null;
  let name = code;
  try { name = languageNames.of(code) || code; } catch (e) { /* an odd code: show it as is */ }
  const label = t('message_language', { language: name });
  return h('span', { class: 'msg-lang', title: label, 'aria-label': label, role: 'note', text: code.toUpperCase() });
}

const TYPING_IDLE_MS = 3000;
const TYPING_SHOWN_MS = 6000;

function draftKey(id) {
  return `inbox.draft.${boot.me.id}.${id}`;
}

export class Conversation {
  constructor(app, ticketId, ticket = null) {
    this.app = app;
    this.id = ticketId;
    this.ticket = ticket;
    this.context = null;
    this.messages = new Map();
    this.lastReadSent = 0;
    this.unseen = 0;
    this.attachments = [];
    this.typingSent = false;
    this.typingTimer = null;
    this.typingShownTimer = null;
    this.buildTab();
    this.buildPanel();
  }

  // ---- DOM -----------------------------------------------------------------------------

  buildTab() {
    this.tabBtn = h('button', {
      type: 'button', role: 'tab', id: `tab-${this.id}`, 'aria-controls': `conv-${this.id}`,
      'aria-selected': 'false', tabindex: '-1', class: 'tab', 'aria-keyshortcuts': 'Delete Alt+W',
      onclick: () => this.app.activate(this.id),
    }, h('span', { class: 'tab-name', text: `#${this.id}` }), h('span', { class: 'tab-dot', hidden: true,
      'aria-label': t('new_messages') }));
    // A tab list holds only tabs: the × is for the pointer; keyboards close the focused tab
    // with Delete (or Alt+W), announced on the tab itself.
    this.tabClose = h('button', {
      type: 'button', class: 'tab-close', 'aria-hidden': 'true', tabindex: '-1',
      title: t('close_conversation', { id: this.id }), text: '×',
      onclick: (ev) => { ev.stopPropagation(); this.app.closeConversation(this.id); },
    });
    this.tab = h('div', { class: 'tab-wrap', role: 'presentation', dataset: { ticketId: this.id } },
      this.tabBtn, this.tabClose);
  }

  buildPanel() {
    const tpl = document.getElementById('tpl-conversation');
    this.el = tpl.content.firstElementChild.cloneNode(true);
    this.el.id = `conv-${this.id}`;
    this.el.setAttribute('aria-labelledby', `tab-${this.id}`);
    this.el.hidden = true;
    const q = (sel) => this.el.querySelector(sel);
    this.titleEl = q('.conv-title');
    this.subEl = q('.conv-sub');
    this.dueEl = q('.conv-due');
    this.blockedEl = q('.flag-blocked');
    this.offlineEl = q('.conv-head .flag-offline');
    this.offlineHint = q('.offline-hint');
    this.signatureHint = q('.signature-hint');
    this.errorEl = q('.conv-error');
    this.mergedEl = q('.merged-banner');
    this.actionsEl = q('.conv-actions');
    this.mergeBtn = q('[data-act="merge"]');
    this.timeline = q('.timeline');
    this.typingEl = q('.typing');
    this.colleaguesEl = q('.colleagues');
    this.colleagues = new Map(); // agent id -> { name, state }: who else has it open
    this.form = q('.composer');
    this.bar = q('.composer-bar');
    this.textarea = q('textarea');
    this.noteBox = q('[data-field="note"]');
    this.fileInput = q('input[type="file"]');
    this.pendingEl = q('.pending-attachments');
    this.statusSel = q('[data-act="status"]');
    this.snoozeInput = q('[data-field="snooze"]');
    this.snoozeBtn = q('[data-act="snooze"]');
    this.claimBtn = q('[data-act="claim"]');
    const uid = `c${this.id}`;
    for (const el of this.el.querySelectorAll('[data-id-suffix]')) el.id = `${el.dataset.idSuffix}-${uid}`;
    for (const el of this.el.querySelectorAll('[data-for-suffix]')) el.htmlFor = `${el.dataset.forSuffix}-${uid}`;
    this.picker = new SavedReplyPicker(this.textarea, q('.suggest'), `suggest-${uid}`, () => ({
      contact: (this.context && this.context.contact) || (this.ticket && this.ticket.contact),
      agent: boot.me,
      attributes: this.context && this.context.attributes,
      orders: this.context && this.context.orders,
    }), () => this.onInput());

    this.textarea.value = localStorage.getItem(draftKey(this.id)) || '';
    this.claimBtn.addEventListener('click', () => this.claim());
    q('[data-act="transfer"]').addEventListener('click', () => this.app.dialogs.openTransfer(this));
    q('[data-act="product"]').addEventListener('click', () => this.app.dialogs.openProducts(this));
    q('[data-act="back"]').addEventListener('click', () => this.app.showPane('list'));
    q('[data-act="context"]').addEventListener('click', () => this.app.toggleContext());
    this.statusSel.addEventListener('change', () => this.statusChosen());
    this.snoozeBtn.addEventListener('click', () => this.applyStatus('snoozed'));
    this.noteBox.addEventListener('change', () => this.noteToggled());
    this.fileInput.addEventListener('change', () => this.uploadFiles());
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.send(); });
    // The reply box's width is the bar's: watched there, as toggling the bar's icons changes
    // the composer's own height (watching the composer would report that as a resize loop).
    let barWidth = 0;
    new ResizeObserver(([entry]) => {
      if (entry.contentRect.width === barWidth) return;  // the box grew with the draft
      barWidth = entry.contentRect.width;
      this.fitComposerBar();
    }).observe(this.textarea);
    this.textarea.addEventListener('keydown', (ev) => this.onKey(ev));
    this.textarea.addEventListener('input', () => this.onInput());
    // Close the saved-reply list once focus has really left (a click in the list blurs the
    // box for a moment, and so does a panel being rearranged while the agent types).
    this.textarea.addEventListener('blur', () => window.setTimeout(() => {
      if (document.activeElement !== this.textarea) this.picker.close();
    }, 150));
    // The conversation shown beside the active one becomes active when used.
    this.el.addEventListener('focusin', () => {
      if (this.app.activeTicketId() !== this.id) this.app.activate(this.id);
    });
  }

  // ---- loading -------------------------------------------------------------------------

  async load() {
    const [ack] = await Promise.all([
      this.app.call('open', { ticket_id: this.id }),
      this.ticket ? null : this.refreshTicket(),
    ]);
    if (!ack.ok) {
      this.showError(ack.error.message);
      return false;
    }
    this.timeline.replaceChildren();
    this.messages.clear();
    this.merge(ack.messages, { initial: true });
    this.loadContext();
    return true;
  }

  /** After a reconnect: join the ticket room again and add what was missed. */
  async reopen() {
    const ack = await this.app.call('open', { ticket_id: this.id });
    if (ack.ok) this.merge(ack.messages);
    this.refreshTicket();
  }

  async refreshTicket() {
    try {
      this.setTicket(await api.get(`/api/v1/tickets/${this.id}`));
    } catch (err) {
      this.showError(err.message);
    }
  }

  async loadContext() {
    try {
      this.context = await api.get(`/inbox/api/tickets/${this.id}/context`);
      if (this.app.activeTicketId() === this.id) this.app.contextPanel.render(this);
    } catch (err) { /* the panel shows its own error */ }
  }

  // ---- header --------------------------------------------------------------------------

  setTicket(ticket) {
    this.ticket = ticket;
    const contact = ticket.contact || {};
    const name = contact.display_name || t('unknown_contact');
    this.tabBtn.querySelector('.tab-name').textContent = name;
    this.titleEl.replaceChildren(channelIcon(ticket.channel), h('span', { text: name }));
    const bits = [`#${ticket.id}`, statusLabel(ticket.status),
      ticket.assignee ? t('assigned_to', { name: ticket.assignee.name }) : t('unassigned')];
    if (ticket.status === 'snoozed' && ticket.snoozed_until) bits.push(t('snoozed_until', { time: fmtDateTime(ticket.snoozed_until) }));
    if (ticket.subject) bits.unshift(ticket.subject);
    this.subEl.textContent = bits.join(' · ');
    // While a reply is due (a snoozed ticket's too: the customer still waits).
    const due = replyDueMark(ticket);
    this.dueEl.replaceChildren(...(due ? [due] : []));
    this.dueEl.hidden = !due;
    this.blockedEl.hidden = !contact.blocked;
    // A chat left while nobody was available: the shopper may be gone, so replies also go by
    // email (actions.messages); say where, or that they wait for the shopper's return.
    const offline = ticket.offline && ticket.channel === 'chat';
    this.offlineEl.hidden = !offline;
    this.offlineHint.hidden = !offline;
    if (offline) {
      this.offlineHint.textContent = contact.email && !contact.email_failing
        ? t('offline_reply_by_email', { email: contact.email }) : t('offline_reply_no_email');
    }
    this.showSignature();
    this.claimBtn.hidden = Boolean(ticket.assignee) || ticket.status === 'closed';
    this.statusSel.value = ticket.status;
    this.snoozeInput.hidden = true;
    this.snoozeBtn.hidden = true;
    const closed = ticket.status === 'closed';
    this.form.classList.toggle('is-closed', closed);
    // A duplicate merged into another ticket (merge.js): the conversation goes on there, so
    // the banner links to it instead of inviting a reopen, and its own actions are gone.
    const into = ticket.merged_into_id;
    this.form.querySelector('.closed-hint').hidden = !closed || Boolean(into);
    this.actionsEl.hidden = Boolean(into);
    this.mergeBtn.hidden = Boolean(into);
    this.mergedEl.hidden = !into;
    if (into && this.mergedEl.dataset.into !== String(into)) { // a status region: said once
      this.mergedEl.dataset.into = into;
      this.mergedEl.replaceChildren(t('merged_banner', { id: into }), ' ', h('button', {
        type: 'button', class: 'link-btn', text: t('merged_open', { id: into }),
        onclick: () => this.app.openTicket(into),
      }));
    }
  }

  showError(message) {
    this.errorEl.textContent = message;
    this.errorEl.hidden = !message;
    if (message) {
      window.clearTimeout(this.errorTimer);
      this.errorTimer = window.setTimeout(() => { this.errorEl.hidden = true; }, 10000);
    }
  }

  async claim() {
    this.showError('');
    try {
      this.setTicket(await api.post(`/api/v1/tickets/${this.id}/claim`));
      this.app.toast(t('claimed'));
    } catch (err) {
      this.showError(err.message);
      this.refreshTicket();
    }
  }

  statusChosen() {
    const value = this.statusSel.value;
    if (value === 'snoozed') {
      this.snoozeInput.hidden = false;
      this.snoozeBtn.hidden = false;
      if (!this.snoozeInput.value) {
        const d = new Date(Date.now() + 3600 * 1000);
        d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
        this.snoozeInput.value = d.toISOString().slice(0, 16);
      }
      this.snoozeInput.focus();
      return;
    }
    this.applyStatus(value);
  }

  async applyStatus(status) {
    const body = { status };
    if (status === 'snoozed') {
      if (!this.snoozeInput.value) { this.showError(t('snooze_needs_time')); return; }
      body.snoozed_until = new Date(this.snoozeInput.value).toISOString();
    }
    try {
      this.setTicket(await api.patch(`/api/v1/tickets/${this.id}`, body));
      this.showError('');
    } catch (err) {
      this.showError(err.message);
      if (this.ticket) this.statusSel.value = this.ticket.status;
    }
  }

  // ---- timeline ------------------------------------------------------------------------

  merge(messages, { initial = false } = {}) {
    let added = 0;
    for (const m of messages) {
      if (m.ticket_id !== this.id) continue;
      const known = this.messages.get(m.id);
      this.messages.set(m.id, { ...(known || {}), ...m });
      const node = this.renderMessage(this.messages.get(m.id));
      const existing = this.timeline.querySelector(`[data-message-id="${m.id}"]`);
      if (existing) {
        existing.replaceWith(node);
        continue;
      }
      added += 1;
      // Keep id order even when replayed messages arrive after newer live ones.
      const later = [...this.timeline.querySelectorAll('[data-message-id]')]
        .find((el) => Number(el.dataset.messageId) > m.id);
      if (later) later.before(node);
      else this.timeline.append(node);
      if (!initial && m.author_type === 'contact' && m.kind === 'message' && !this.isSeen()) this.markUnseen(node);
    }
    if (added) this.scrollDown(initial);
    if (!initial && added) this.setTypingShown(false);
    this.maybeMarkRead();
    return added;
  }

  isSeen() {
    return this.app.isVisible(this.id) && document.visibilityState === 'visible' && document.hasFocus();
  }

  markUnseen(node) {
    this.unseen += 1;
    if (!this.timeline.querySelector('.unread-marker')) {
      node.before(h('li', { class: 'unread-marker', role: 'separator', text: t('new_messages') }));
    }
    this.tabBtn.querySelector('.tab-dot').hidden = false;
    this.tab.classList.add('has-unread');
  }

  clearUnseen() {
    this.unseen = 0;
    this.tabBtn.querySelector('.tab-dot').hidden = true;
    this.tab.classList.remove('has-unread');
  }

  dropUnreadMarker() {
    const marker = this.timeline.querySelector('.unread-marker');
    if (marker) marker.remove();
  }

  scrollDown(force) {
    const tl = this.timeline;
    const nearBottom = tl.scrollHeight - tl.scrollTop - tl.clientHeight < 160;
    if (force || nearBottom) tl.scrollTop = tl.scrollHeight;
  }

  eventText(m) {
    const meta = m.meta || {};
    const agent = m.author ? m.author.name : t('system');
    switch (meta.event) {
      case 'assigned':
        if (meta.claimed) return t('event_claimed', { agent });
        return meta.assignee_name ? t('event_assigned', { agent, assignee: meta.assignee_name })
          : t('event_unassigned', { agent });
      case 'transferred':
        return t('event_transferred', { agent, target: meta.to_agent_name || meta.to_team_name || '' });
      case 'status_changed':
        return t('event_status', { agent, status: statusLabel(meta.status) });
      case 'merged':
        return t('event_merged', { agent, id: meta.merged_ticket_id });
      case 'merged_into':
        return t('event_merged_into', { agent, id: meta.into_ticket_id });
      default:
        return m.body_text || meta.event || '';
    }
  }

  renderMessage(m) {
    const time = h('time', { datetime: m.created_at, text: fmtTime(m.created_at), title: fmtDateTime(m.created_at) });
    if (m.kind === 'event') {
      const note = m.meta && m.meta.note ? h('q', { class: 'event-note', text: m.meta.note }) : null;
      return h('li', { class: 'tl-event', dataset: { messageId: m.id } },
        h('span', { text: this.eventText(m) }), ' ', time, note);
    }
    const incoming = m.author_type === 'contact';
    const isNote = m.kind === 'note';
    const author = m.author ? m.author.name : t('unknown_contact');
    const cls = ['tl-msg', incoming ? 'in' : 'out', isNote ? 'note' : ''].join(' ').trim();
    const head = h('div', { class: 'msg-head' },
      isNote ? h('span', { class: 'note-label', text: t('internal_note') }) : null,
      h('span', { class: 'msg-author', text: author }), languageBadge(m.language), time);
    // dir=auto: a message in Arabic reads (and wraps) right to left whatever the inbox's language.
    const body = h('div', { class: 'msg-body', dir: 'auto' });
    if (incoming && /<(?!br\b|\/?a\b)[a-z]/i.test(m.body_html || '')) {
      this.renderRich(body, m.body_html, false);
    } else {
      body.innerHTML = m.body_html || ''; // chat text: escaped and linkified by helpdesk.text on the server
    }
    const card = m.meta && m.meta.product_card ? this.renderCard(m.meta.product_card) : null;
    const files = (m.attachments || []).map((a) => this.renderAttachment(a));
    let state = null;
    if (!incoming && !isNote && m.author_type === 'agent') {
      const delivery = m.meta && m.meta.delivery;
      if (delivery && delivery.status && !m.read_at) {
        // The email copy's delivery state (message.updated events keep it current).
        const bad = ['failed', 'bounced'].includes(delivery.status);
        state = h('span', { class: `msg-state${bad ? ' failed' : ''}`, title: delivery.error || '',
          text: t(`delivery_${delivery.status}`) + (bad && delivery.error ? `: ${delivery.error}` : '') });
      } else {
        const read = Boolean(m.read_at);
        state = h('span', { class: `msg-state${read ? ' read' : ''}`, text: read ? t('read') : t('delivered') });
      }
    }
    return h('li', { class: cls, dataset: { messageId: m.id } }, head,
      m.body_html ? body : null, card, files.length ? h('div', { class: 'msg-files' }, files) : null, state);
  }

  /** Email HTML (allowlisted on the server) only ever renders inside a sandboxed frame, and
   *  its remote images stay blocked (they can track the reader) until the agent allows them. */
  renderRich(container, html, allowImages) {
    // Inline images (cid: parts) are attachments stored here: always allowed.
    const own = `${window.location.origin}/media/attachments/`;
    const images = allowImages ? `img-src https: http: data: ${own}` : `img-src data: ${own}`;
    const csp = `default-src 'none'; ${images}; style-src 'unsafe-inline'`;
    const doc = `<meta http-equiv="Content-Security-Policy" content="${csp}"><base target="_blank">${html}`;
    const frame = h('iframe', { class: 'email-frame', sandbox: 'allow-popups allow-popups-to-escape-sandbox',
      srcdoc: doc, title: t('email_body') });
    const remote = !allowImages && /<img[^>]+src=["']?https?:/i.test(html);
    const show = remote ? [h('button', {
      type: 'button', class: 'link-btn small', text: t('show_images'),
      onclick: () => this.renderRich(container, html, true),
    })] : [];
    container.replaceChildren(frame, ...show); // (a null argument would be shown as the text "null")
  }

  renderCard(card) {
    const url = safeUrl(card.url);
    const img = safeUrl(card.image_url);
    return h('div', { class: 'product-card' },
      img ? h('img', { src: img, alt: '', loading: 'lazy' }) : null,
      h('div', {},
        h('strong', { text: card.title || '' }),
        h('div', { class: 'price', text: fmtPrice(card.price, card.currency) }),
        url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: t('view_product') }) : null));
  }

  renderAttachment(a) {
    const url = safeUrl(a.url);
    if (a.thumbnail_url && safeUrl(a.thumbnail_url)) {
      return h('a', { href: url, target: '_blank', rel: 'noopener', class: 'att-thumb' },
        h('img', { src: safeUrl(a.thumbnail_url), alt: a.filename }));
    }
    return h('a', { href: url, target: '_blank', rel: 'noopener', class: 'att-file', text: a.filename });
  }

  /** The shopper read our messages up to ``upTo``. */
  markReadByContact(upTo) {
    const now = new Date().toISOString();
    for (const m of this.messages.values()) {
      if (m.id <= upTo && m.author_type === 'agent' && m.kind === 'message' && !m.read_at) {
        m.read_at = now;
        const node = this.timeline.querySelector(`[data-message-id="${m.id}"]`);
        if (node) node.replaceWith(this.renderMessage(m));
      }
    }
  }

  /** Tell the server (and so the shopper) what we have read, when we really see it. */
  maybeMarkRead() {
    if (!this.isSeen()) return;
    let upTo = 0;
    for (const m of this.messages.values()) {
      if (m.author_type === 'contact' && m.kind === 'message' && m.id > upTo) upTo = m.id;
    }
    this.clearUnseen();
    this.app.queue.clearUnread(this.id);
    if (upTo > this.lastReadSent) {
      this.lastReadSent = upTo;
      this.app.call('read', { ticket_id: this.id, up_to_id: upTo });
    }
  }

  setTypingShown(on) {
    this.typingEl.hidden = !on;
    window.clearTimeout(this.typingShownTimer);
    if (on) this.typingShownTimer = window.setTimeout(() => { this.typingEl.hidden = true; }, TYPING_SHOWN_MS);
  }

  // ---- colleagues (collision detection) -------------------------------------------------

  /** What I am doing here, for a colleague who just opened the conversation. */
  myState() {
    return this.typingSent ? 'replying' : 'viewing';
  }

  setColleague(agent, state) {
    if (state === 'left') this.colleagues.delete(agent.id);
    else this.colleagues.set(agent.id, { name: agent.name, state: state === 'joined' ? 'viewing' : state });
    this.showColleagues();
  }

  clearColleagues() {
    this.colleagues.clear();
    this.showColleagues();
  }

  // One line above the reply box: who is writing a reply (a warning: the customer would get
  // two answers), else who else is looking at it.
  showColleagues() {
    const all = [...this.colleagues.values()];
    const replying = all.filter((c) => c.state === 'replying').map((c) => c.name);
    let text = '';
    if (replying.length) {
      text = t(replying.length === 1 ? 'colleague_replying' : 'colleagues_replying', { names: listNames(replying) });
    } else if (all.length) {
      text = t('colleagues_viewing', { names: listNames(all.map((c) => c.name)) });
    }
    this.colleaguesEl.hidden = !text;
    this.colleaguesEl.classList.toggle('replying', replying.length > 0);
    if (this.colleaguesEl.textContent !== text) this.colleaguesEl.textContent = text;
  }

  // ---- composer ------------------------------------------------------------------------

  noteToggled() {
    const note = this.noteBox.checked;
    this.form.classList.toggle('as-note', note);
    this.textarea.placeholder = note ? t('placeholder_note') : t('placeholder_reply');
    // The button says what it does: a note goes to colleagues only, never to the shopper.
    this.form.querySelector('.send-btn').textContent = note ? t('add_note') : t('send');
    if (note) this.stopTyping();
    this.showSignature();
    this.fitComposerBar();
  }

  // A reply that also goes by email (actions.messages: email and form tickets, offline
  // chats) ends with the agent's signature, else the store's: one line says which, read
  // with the reply box. A note is never emailed, so it shows none.
  showSignature() {
    const ticket = this.ticket;
    const contact = (ticket && ticket.contact) || {};
    const emailed = ticket && (['email', 'form'].includes(ticket.channel) || ticket.offline)
      && contact.email && !contact.email_failing;
    const store = emailed && boot.stores.find((s) => s.id === ticket.store_id);
    const text = ((store && store.signature) || '').split('\n').map((line) => line.trim()).filter(Boolean).join(' · ');
    const show = Boolean(text) && !this.noteBox.checked;
    this.signatureHint.hidden = !show;
    this.signatureHint.textContent = show ? t('signature_preview', { signature: text }) : '';
    if (show) this.textarea.setAttribute('aria-describedby', this.signatureHint.id);
    else this.textarea.removeAttribute('aria-describedby');
  }

  // The tools show their icons alone where their words would push Send onto a second row:
  // that depends on the panel's width and on the language's words, so it is measured.
  fitComposerBar() {
    this.bar.classList.remove('compact');
    const shown = [...this.bar.children].filter((el) => el.getClientRects().length);
    if (shown.length < 2) return;
    const first = shown[0].getBoundingClientRect();
    const last = shown[shown.length - 1].getBoundingClientRect();
    this.bar.classList.toggle('compact', last.top >= first.bottom);
  }

  onKey(ev) {
    if (this.picker.handleKey(ev)) return;
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      this.send();
    }
  }

  onInput() {
    const value = this.textarea.value;
    if (value) localStorage.setItem(draftKey(this.id), value);
    else localStorage.removeItem(draftKey(this.id));
    if (!this.noteBox.checked && value) this.startTyping();
    if (!value) this.stopTyping();
    this.picker.update();
  }

  startTyping() {
    if (!this.typingSent) {
      this.typingSent = true;
      this.app.call('typing', { ticket_id: this.id, typing: true });
    }
    window.clearTimeout(this.typingTimer);
    this.typingTimer = window.setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    window.clearTimeout(this.typingTimer);
    if (this.typingSent) {
      this.typingSent = false;
      this.app.call('typing', { ticket_id: this.id, typing: false });
    }
  }

  async uploadFiles() {
    const files = [...this.fileInput.files];
    this.fileInput.value = '';
    for (const file of files) {
      const chip = h('li', { class: 'chip uploading', text: file.name });
      this.pendingEl.append(chip);
      const fd = new FormData();
      fd.append('ticket_id', String(this.id));
      fd.append('file', file, file.name);
      try {
        const att = await api.upload('/inbox/uploads', fd);
        this.attachments.push(att);
        chip.classList.remove('uploading');
        chip.append(' ', h('button', {
          type: 'button', class: 'chip-remove', 'aria-label': t('remove_attachment', { name: att.filename }), text: '×',
          onclick: () => {
            this.attachments = this.attachments.filter((a) => a.id !== att.id);
            chip.remove();
          },
        }));
      } catch (err) {
        chip.remove();
        this.showError(err.message);
      }
    }
  }

  async send(extra = null) {
    const body = extra ? '' : this.textarea.value.trim();
    const note = !extra && this.noteBox.checked;
    const attachments = extra || note ? [] : this.attachments.map((a) => a.id);
    if (!extra && !body && !attachments.length) return;
    const payload = { ticket_id: this.id, client_id: uuid(), body, kind: note ? 'note' : 'reply', attachments };
    if (extra) Object.assign(payload, extra);
    const button = this.form.querySelector('[type="submit"]');
    button.disabled = true;
    this.stopTyping();
    let ack;
    try {
      ack = await this.app.call('send', payload, 3);
    } finally {
      button.disabled = false;
    }
    if (!ack.ok) {
      this.showError(ack.error.message);
      return false;
    }
    this.showError('');
    if (!extra) {
      this.textarea.value = '';
      localStorage.removeItem(draftKey(this.id));
      this.attachments = [];
      this.pendingEl.replaceChildren();
    }
    this.dropUnreadMarker();
    this.app.noteSeen(ack.message.id);
    this.merge([ack.message]);
    this.scrollDown(true);
    announce(note ? t('note_added') : t('reply_sent'));
    return true;
  }

  // ---- visibility ----------------------------------------------------------------------

  show() {
    this.el.hidden = false;
    this.tabBtn.setAttribute('aria-selected', 'true');
    this.tabBtn.tabIndex = 0;
    this.tab.classList.add('active');
    this.scrollDown(true);
    this.maybeMarkRead();
  }

  hide() {
    this.el.hidden = true;
    this.tabBtn.setAttribute('aria-selected', 'false');
    this.tabBtn.tabIndex = -1;
    this.tab.classList.remove('active');
    this.dropUnreadMarker();
    this.stopTyping();
    this.picker.close();
  }

  destroy() {
    this.stopTyping();
    this.el.remove();
    this.tab.remove();
  }
}
