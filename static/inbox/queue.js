// The queue: views (Mine / Unassigned / All / teams / stores), filters, search, the ticket
// list with live updates, unread badges and bulk actions.
import { announce, api, boot, channelIcon, debounce, elapsed, h, statusLabel, t } from './util.js';
import { dueFirst, isOverdue, replyDueMark } from './reply_due.js';

const PAGE_SIZE = 25;

function ticketKey(ticket) {
  return [ticket.last_activity_at, ticket.id];
}

function newerFirst(a, b) {
  const [ta, ia] = ticketKey(a);
  const [tb, ib] = ticketKey(b);
  if (ta !== tb) return ta < tb ? 1 : -1;
  return ib - ia;
}

export class Queue {
  constructor(app) {
    this.app = app;
    this.me = boot.me;
    this.tickets = new Map(); // id -> ticket (those in the list)
    this.unread = new Map(); // id -> unread customer messages
    // id -> ids of messages counted live since the last lookup. A lookup answers with the
    // newest id it counted, so a live message that lands before or after the answer is
    // counted once either way.
    this.liveUnread = new Map();
    this.countedUpTo = new Map(); // id -> newest message id the badge holds
    this.typing = new Set();
    this.selected = new Set();
    this.view = { kind: 'all', id: null };
    // ``sort``: '' newest activity first, 'due' the reply due soonest first.
    this.filters = { status: 'open', channel: '', tag: '', q: '', sort: '' };
    this.cursor = null;
    this.counts = {};
    this.listEl = document.getElementById('ticket-list');
    this.emptyEl = document.getElementById('queue-empty');
    this.moreBtn = document.getElementById('load-more');
    this.viewsEl = document.getElementById('views');
    this.bulkEl = document.getElementById('bulkbar');
    this.loadGen = 0;
    this.refreshCounts = debounce(() => this.loadCounts(), 400);
    this.restore();
    this.buildViews();
    this.bindFilters();
    this.bindBulk();
    this.moreBtn.addEventListener('click', () => this.load({ more: true }));
    window.setInterval(() => this.tickClock(), 30000);
  }

  // ---- views and filters ---------------------------------------------------------------

  restore() {
    try {
      const saved = JSON.parse(localStorage.getItem('inbox.queue') || 'null');
      if (saved && saved.view) this.view = saved.view;
      if (saved && saved.filters) Object.assign(this.filters, saved.filters, { q: '' });
    } catch (err) { /* a corrupt value is ignored */ }
  }

  persist() {
    localStorage.setItem('inbox.queue', JSON.stringify({ view: this.view, filters: { ...this.filters, q: '' } }));
  }

  viewKey(view) {
    return view.kind === 'team' || view.kind === 'store' ? `${view.kind}:${view.id}` : view.kind;
  }

  buildViews() {
    const groups = [
      { label: null, items: [
        { kind: 'mine', name: t('view_mine') },
        { kind: 'unassigned', name: t('view_unassigned') },
        { kind: 'all', name: t('view_all') },
        // Tickets whose reply target has passed (helpdesk.actions.service_levels).
        { kind: 'overdue', name: t('view_overdue') },
      ] },
    ];
    if (boot.teams.length) {
      groups.push({ label: t('teams'), items: boot.teams.map((tm) => ({ kind: 'team', id: tm.id, name: tm.name })) });
    }
    if (boot.stores.length > 1) {
      groups.push({ label: t('stores'), items: boot.stores.map((s) => ({ kind: 'store', id: s.id, name: s.name })) });
    }
    this.viewsEl.replaceChildren();
    for (const group of groups) {
      if (group.label) this.viewsEl.append(h('h2', { class: 'views-heading', text: group.label }));
      const ul = h('ul', { class: 'views-list' });
      for (const item of group.items) {
        const key = this.viewKey(item);
        const btn = h('button', {
          type: 'button', class: 'view-btn', dataset: { view: key },
          onclick: () => this.setView({ kind: item.kind, id: item.id ?? null }),
        }, h('span', { class: 'view-name', text: item.name }),
        h('span', { class: 'view-total', dataset: { total: key } }),
        h('span', { class: 'badge', dataset: { unread: key }, hidden: true }));
        ul.append(h('li', {}, btn));
      }
      this.viewsEl.append(ul);
    }
    this.markView();
  }

  markView() {
    const key = this.viewKey(this.view);
    for (const btn of this.viewsEl.querySelectorAll('.view-btn')) {
      const on = btn.dataset.view === key;
      btn.classList.toggle('active', on);
      if (on) btn.setAttribute('aria-current', 'true');
      else btn.removeAttribute('aria-current');
    }
    const title = this.viewsEl.querySelector(`.view-btn[data-view="${key}"] .view-name`);
    document.getElementById('queue-title').textContent = title ? title.textContent : '';
  }

  setView(view) {
    this.view = view;
    this.persist();
    this.markView();
    this.load();
    this.loadCounts();
    this.app.closeViews();
    this.app.showPane('list');
  }

  bindFilters() {
    const form = document.getElementById('filters');
    const status = form.elements.status;
    const channel = form.elements.channel;
    const tag = form.elements.tag;
    const q = form.elements.q;
    const sort = form.elements.sort;
    status.value = this.filters.status;
    channel.value = this.filters.channel;
    tag.value = this.filters.tag;
    sort.value = this.filters.sort;
    const apply = () => {
      this.filters = { status: status.value, channel: channel.value, tag: tag.value.trim(), q: q.value.trim(),
        sort: sort.value };
      this.persist();
      this.load();
      this.loadCounts();
    };
    status.addEventListener('change', apply);
    channel.addEventListener('change', apply);
    sort.addEventListener('change', apply);
    const typed = debounce(apply, 350);
    tag.addEventListener('input', typed);
    q.addEventListener('input', typed);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  }

  query() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const { kind, id } = this.view;
    if (kind === 'mine') params.set('assignee', 'me');
    if (kind === 'unassigned') params.set('assignee', 'none');
    if (kind === 'team') params.set('team', id);
    if (kind === 'store') params.set('store', id);
    if (kind === 'overdue') params.set('overdue', 'true');
    for (const key of ['status', 'channel', 'tag', 'q', 'sort']) if (this.filters[key]) params.set(key, this.filters[key]);
    return params;
  }

  /** Does a ticket belong in the list as currently filtered? (search results are not guessed) */
  matches(ticket) {
    const { kind, id } = this.view;
    if (kind === 'mine' && (!ticket.assignee || ticket.assignee.id !== this.me.id)) return false;
    if (kind === 'unassigned' && ticket.assignee) return false;
    if (kind === 'team' && ticket.team_id !== id) return false;
    if (kind === 'store' && ticket.store_id !== id) return false;
    if (kind === 'overdue' && !isOverdue(ticket)) return false;
    if (this.filters.status && ticket.status !== this.filters.status) return false;
    if (!this.filters.status && ticket.status === 'closed') return false;
    if (this.filters.channel && ticket.channel !== this.filters.channel) return false;
    if (this.filters.tag && !(ticket.tags || []).includes(this.filters.tag.toLowerCase())) return false;
    return true;
  }

  // ---- loading -------------------------------------------------------------------------

  async load({ more = false } = {}) {
    const gen = ++this.loadGen;
    const params = this.query();
    if (more && this.cursor) params.set('cursor', this.cursor);
    if (!more) this.listEl.setAttribute('aria-busy', 'true');
    let page;
    try {
      page = await api.get(`/api/v1/tickets?${params}`);
    } catch (err) {
      if (gen === this.loadGen) this.app.toast(err.message, 'error');
      this.listEl.removeAttribute('aria-busy');
      return;
    }
    if (gen !== this.loadGen) return; // a newer filter won
    if (!more) {
      this.tickets.clear();
      this.selected.clear();
    }
    for (const ticket of page.items) this.tickets.set(ticket.id, ticket);
    this.cursor = page.next_cursor;
    this.moreBtn.hidden = !this.cursor;
    this.listEl.removeAttribute('aria-busy');
    await this.loadUnread(page.items.map((tk) => tk.id));
    this.render();
  }

  async loadUnread(ids) {
    if (!ids.length) return;
    try {
      const res = await api.get(`/inbox/api/unread?ids=${ids.join(',')}`);
      for (const id of ids) {
        const newest = Math.max(res.newest[String(id)] || 0, this.countedUpTo.get(id) || 0);
        const later = (this.liveUnread.get(id) || []).filter((m) => m > newest);
        this.unread.set(id, (res.unread[String(id)] || 0) + later.length);
        this.countedUpTo.set(id, Math.max(newest, ...later));
        this.liveUnread.delete(id);
      }
    } catch (err) { /* badges stay as they were */ }
  }

  async loadCounts() {
    const params = new URLSearchParams();
    if (this.filters.status) params.set('status', this.filters.status);
    try {
      const res = await api.get(`/inbox/api/counts?${params}`);
      this.counts = res.views;
    } catch (err) { return; }
    for (const el of this.viewsEl.querySelectorAll('[data-unread]')) {
      const c = this.counts[el.dataset.unread];
      const n = c ? c.unread : 0;
      el.hidden = !n;
      el.textContent = n ? String(n) : '';
      el.setAttribute('aria-label', t('unread_count', { count: n }));
    }
    for (const el of this.viewsEl.querySelectorAll('[data-total]')) {
      const c = this.counts[el.dataset.total];
      el.textContent = c ? String(c.total) : '0';
    }
    // Overdue tickets stand out in red; the view's name says what the number counts.
    const late = this.viewsEl.querySelector('[data-total="overdue"]');
    if (late) late.classList.toggle('late', Boolean(this.counts.overdue && this.counts.overdue.total));
    this.app.updateTitle();
  }

  totalUnread() {
    const all = this.counts.all;
    return all ? all.unread : 0;
  }

  // ---- rendering -----------------------------------------------------------------------

  sorted() {
    // A search is always by activity (the server's order for it).
    const byDue = this.filters.sort === 'due' && !this.filters.q;
    return [...this.tickets.values()].sort(byDue ? dueFirst : newerFirst);
  }

  render() {
    const rows = this.sorted().map((ticket) => this.row(ticket));
    this.listEl.replaceChildren(...rows);
    this.emptyEl.hidden = rows.length > 0;
    this.updateBulk();
  }

  row(ticket) {
    const unread = this.unread.get(ticket.id) || 0;
    const contact = ticket.contact || {};
    const active = this.app.activeTicketId() === ticket.id;
    const open = h('button', {
      // Named by what it shows (name, subject, preview, number), as a sighted agent reads it.
      type: 'button', class: 'row-open', 'aria-current': active ? 'true' : null,
      onclick: () => this.app.openTicket(ticket.id),
    },
    channelIcon(ticket.channel),
    h('span', { class: 'row-main' },
      h('span', { class: 'row-top' },
        // dir=auto: an Arabic or Hebrew name, subject or message keeps its start in view and
        // is cut (with its ellipsis) at its own end, not at the start.
        h('span', { class: 'row-name', dir: 'auto', text: contact.display_name || t('unknown_contact') }),
        contact.blocked ? h('span', { class: 'flag flag-blocked', text: t('blocked') }) : null,
        ticket.offline && ticket.channel === 'chat'
          ? h('span', { class: 'flag flag-offline', title: t('left_offline_title'), text: t('left_offline') }) : null,
        h('time', { class: 'row-wait', datetime: ticket.last_customer_message_at || '',
          title: t('waiting_since'), dataset: { since: ticket.last_customer_message_at || '' },
          text: elapsed(ticket.last_customer_message_at) })),
      ticket.subject ? h('span', { class: 'row-subject', dir: 'auto', text: ticket.subject }) : null,
      h('span', { class: 'row-preview', dir: 'auto' },
        this.typing.has(ticket.id) ? h('em', { class: 'row-typing', text: t('typing') })
          : (ticket.last_message_preview || '')),
      // A colleague viewing it or writing a reply (colleague_marks.js).
      this.app.colleagueMarks.line(ticket.id),
      h('span', { class: 'row-bottom' },
        h('span', { class: `status-pill status-${ticket.status}`, text: statusLabel(ticket.status) }),
        replyDueMark(ticket, 'row-due'),
        h('span', { class: 'row-assignee', text: ticket.assignee ? ticket.assignee.name : t('unassigned') }),
        h('span', { class: 'row-id', text: `#${ticket.id}` }),
        unread ? h('span', { class: 'badge', 'aria-label': t('unread_count', { count: unread }), text: String(unread) })
          : null)));
    const box = h('input', {
      type: 'checkbox', class: 'row-select', 'aria-label': t('select_ticket', { id: ticket.id }),
      checked: this.selected.has(ticket.id),
      onchange: (ev) => {
        if (ev.target.checked) this.selected.add(ticket.id);
        else this.selected.delete(ticket.id);
        this.updateBulk();
      },
    });
    return h('li', {
      class: `ticket-row${unread ? ' unread' : ''}${active ? ' active' : ''}`,
      dataset: { ticketId: ticket.id },
    }, box, open);
  }

  rerenderRow(id) {
    const ticket = this.tickets.get(id);
    const old = this.listEl.querySelector(`[data-ticket-id="${id}"]`);
    if (ticket && old) old.replaceWith(this.row(ticket));
  }

  tickClock() {
    for (const el of this.listEl.querySelectorAll('.row-wait')) el.textContent = elapsed(el.dataset.since);
    this.checkOverdue();
  }

  // A reply passing its due time changes nothing on the server, so no event says so: a row's
  // mark turns red by itself (reply_due.js), but the sidebar's Overdue count and the Overdue
  // view itself (which lists only what was overdue when it loaded) are asked again here --
  // the count when a ticket loaded here has just passed its due time, and, while the Overdue
  // view is shown, on every tick, reloading its list when the count moved (a ticket this page
  // never loaded may have become overdue).
  checkOverdue() {
    const now = Date.now();
    const since = this.dueCheckedAt || now;
    this.dueCheckedAt = now;
    const crossed = [...this.tickets.values()].some((tk) => {
      const due = tk.reply_due_at ? Date.parse(tk.reply_due_at) : NaN;
      return due > since && due <= now;
    });
    if (!crossed && this.view.kind !== 'overdue') return;
    const lateCount = () => (this.counts && this.counts.overdue ? this.counts.overdue.total : 0);
    const before = lateCount();
    this.loadCounts().then(() => {
      if (this.view.kind === 'overdue' && !this.filters.q && lateCount() !== before) this.load();
    });
  }

  // ---- live updates --------------------------------------------------------------------

  /** A ticket changed (or appeared): keep, insert, move or drop its row. */
  upsert(ticket) {
    const known = this.tickets.has(ticket.id);
    if (this.matches(ticket)) {
      if (!known && this.filters.q) return; // search results are not guessed client-side
      this.tickets.set(ticket.id, ticket);
      if (!known && !this.unread.has(ticket.id)) this.loadUnread([ticket.id]).then(() => this.render());
      this.render();
    } else if (known) {
      this.tickets.delete(ticket.id);
      this.selected.delete(ticket.id);
      this.render();
    }
  }

  contactUpdated(contact) {
    let changed = false;
    for (const ticket of this.tickets.values()) {
      if (ticket.contact && ticket.contact.id === contact.id) {
        ticket.contact = { ...ticket.contact, name: contact.name, display_name: contact.display_name,
          email: contact.email, blocked: contact.blocked };
        changed = true;
      }
    }
    if (changed) this.render();
  }

  bumpUnread(ticketId, messageId) {
    // Counted already: by the lookup, or live before (a reconnect replays what it missed).
    const live = this.liveUnread.get(ticketId) || [];
    if (messageId <= (this.countedUpTo.get(ticketId) || 0) || live.includes(messageId)) return;
    this.liveUnread.set(ticketId, [...live, messageId]);
    this.unread.set(ticketId, (this.unread.get(ticketId) || 0) + 1);
    this.rerenderRow(ticketId);
  }

  clearUnread(ticketId) {
    this.liveUnread.delete(ticketId);
    if (!this.unread.get(ticketId)) return;
    this.unread.set(ticketId, 0);
    this.rerenderRow(ticketId);
    this.refreshCounts();
  }

  setTyping(ticketId, on) {
    if (on) this.typing.add(ticketId);
    else this.typing.delete(ticketId);
    this.rerenderRow(ticketId);
  }

  markActive() {
    for (const row of this.listEl.querySelectorAll('.ticket-row')) {
      const on = Number(row.dataset.ticketId) === this.app.activeTicketId();
      row.classList.toggle('active', on);
      const btn = row.querySelector('.row-open');
      if (on) btn.setAttribute('aria-current', 'true');
      else btn.removeAttribute('aria-current');
    }
  }

  // ---- bulk actions --------------------------------------------------------------------

  bindBulk() {
    const form = this.bulkEl;
    const status = form.elements.bulk_status;
    const snooze = form.elements.bulk_snooze;
    status.addEventListener('change', () => { snooze.hidden = status.value !== 'snoozed'; });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const action = ev.submitter ? ev.submitter.value : 'status';
      const body = { ticket_ids: [...this.selected] };
      if (action === 'assign_me') body.assignee_id = this.me.id;
      else {
        if (!status.value) return;
        body.status = status.value;
        if (status.value === 'snoozed') {
          if (!snooze.value) { this.app.toast(t('snooze_needs_time'), 'error'); return; }
          body.snoozed_until = new Date(snooze.value).toISOString();
        }
      }
      try {
        const res = await api.post('/inbox/api/tickets/bulk', body);
        for (const ticket of res.updated) this.upsert(ticket);
        this.selected.clear();
        this.render();
        const msg = t('bulk_done', { count: res.updated.length });
        if (res.errors.length) {
          this.app.toast(`${msg} ${t('bulk_failed', { count: res.errors.length })} ${res.errors[0].message}`, 'error');
        } else {
          this.app.toast(msg);
        }
        announce(msg);
        this.loadCounts();
      } catch (err) {
        this.app.toast(err.message, 'error');
      }
    });
    form.elements.bulk_clear.addEventListener('click', () => { this.selected.clear(); this.render(); });
    document.getElementById('select-all').addEventListener('change', (ev) => {
      if (ev.target.checked) for (const id of this.tickets.keys()) this.selected.add(id);
      else this.selected.clear();
      this.render();
    });
  }

  updateBulk() {
    const n = this.selected.size;
    this.bulkEl.hidden = n === 0;
    this.bulkEl.querySelector('.bulk-count').textContent = t('selected_count', { count: n });
    const all = document.getElementById('select-all');
    all.checked = n > 0 && n === this.tickets.size;
    all.indeterminate = n > 0 && n < this.tickets.size;
  }
}
