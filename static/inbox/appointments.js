// In-store visits from a conversation: the booking dialog (book, move, cancel, take over a
// visit whose agent left the store; the server validates the time against the shop's hours in
// its own time zone and says why it refuses), live `appointment.updated` events, and
// `#ticket-<id>` links from the appointments page. The "My upcoming appointments" page loads
// this module on its own: its lists follow the same events (AppointmentsPage, at the end).
import { api, boot, h, locale, t } from './util.js';

const DAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
// The page waits this long for more changes before fetching its lists again: an agent who
// leaves a store leaves several visits without an agent at once, one event each.
const LISTS_DELAY_MS = 250;

function fmtAt(iso, timeZone) {
  try {
    return new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short', timeZone }).format(new Date(iso));
  } catch (err) {
    return new Date(iso).toLocaleString(locale);
  }
}

export class Appointments {
  constructor(app) {
    this.app = app;
    this.conv = null;
    this.editing = null; // the appointment being moved, or null when booking
    this.taking = null; // the visit this tab is taking over: its own `assigned` event is no news
    this.lastEvent = ''; // one change reaches several rooms this agent is in: handled once
    this.locations = [];
    this.dialog = document.getElementById('appointment-dialog');
    this.form = document.getElementById('appointment-form');
    this.list = document.getElementById('appointment-existing');
    this.errorEl = this.form.querySelector('.error');
    this.bind();
    if (app.socket) app.socket.on('appointment.updated', (data) => this.onUpdated(data));
    this.openFromHash();
  }

  bind() {
    // The button lives in every conversation panel (the template); one listener serves all.
    document.addEventListener('click', (ev) => {
      const btn = ev.target.closest('[data-act="appointment"]');
      if (!btn) return;
      const panel = btn.closest('.conv');
      const conv = panel && this.app.conversations.get(Number(panel.id.replace('conv-', '')));
      if (conv) this.open(conv);
    });
    this.form.querySelector('[data-act="cancel"]').addEventListener('click', () => this.dialog.close());
    this.form.querySelector('[data-act="new"]').addEventListener('click', () => this.startBooking());
    this.form.elements.location.addEventListener('change', () => this.showHours());
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
  }

  openFromHash() {
    const m = /^#ticket-(\d+)$/.exec(window.location.hash);
    if (!m) return;
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    this.app.openTicket(Number(m[1]));
  }

  async open(conv) {
    this.conv = conv;
    this.errorEl.hidden = true;
    this.list.replaceChildren(h('li', { class: 'muted', text: t('loading') }));
    this.dialog.showModal();
    let data;
    try {
      [data] = await Promise.all([api.get(`/inbox/api/tickets/${conv.id}/appointments`), this.loadAgents()]);
    } catch (err) {
      this.list.replaceChildren(h('li', { class: 'error', text: err.message }));
      return;
    }
    this.locations = data.locations;
    const sel = this.form.elements.location;
    sel.replaceChildren(...this.locations.map((l) => h('option', { value: l.id, text: `${l.name} (${l.timezone})` })));
    this.form.querySelector('.appt-fields').disabled = !this.locations.length;
    this.form.querySelector('[data-act="submit"]').disabled = !this.locations.length;
    if (!this.locations.length) this.showError(t('appt_no_locations'));
    this.renderList(data.appointments);
    this.startBooking();
  }

  async loadAgents() {
    if (this.agents) return;
    try {
      this.agents = (await api.get('/api/v1/agents')).items;
    } catch (err) {
      this.agents = [boot.me];
    }
    const sel = this.form.elements.agent;
    sel.replaceChildren(...this.agents.map((a) => h('option', { value: a.id, text: a.name })));
  }

  startBooking() {
    this.editing = null;
    const f = this.form.elements;
    f.starts_at.value = '';
    f.notes.value = '';
    f.agent.value = String(boot.me.id);
    document.getElementById('appointment-mode').textContent = t('appt_book_legend');
    this.form.querySelector('[data-act="submit"]').textContent = t('appt_book');
    this.form.querySelector('[data-act="new"]').hidden = true;
    this.errorEl.hidden = true;
    this.showHours();
    f.location.focus();
  }

  startMoving(appt) {
    this.editing = appt;
    const f = this.form.elements;
    f.location.value = String(appt.location.id);
    f.starts_at.value = appt.local_start;
    f.agent.value = appt.agent ? String(appt.agent.id) : String(boot.me.id);
    f.notes.value = appt.notes || '';
    document.getElementById('appointment-mode').textContent = t('appt_move_legend');
    this.form.querySelector('[data-act="submit"]').textContent = t('appt_save');
    this.form.querySelector('[data-act="new"]').hidden = false;
    this.errorEl.hidden = true;
    this.showHours();
    f.starts_at.focus();
  }

  showHours() {
    const loc = this.locations.find((l) => String(l.id) === this.form.elements.location.value);
    const el = document.getElementById('appointment-hours');
    if (!loc) { el.textContent = ''; return; }
    const days = DAY_KEYS.filter((d) => (loc.opening_hours[d] || []).length)
      .map((d) => `${t(`day_${d}`)} ${loc.opening_hours[d].map(([o, c]) => `${o}–${c}`).join(', ')}`);
    el.textContent = t('appt_hours', { zone: loc.timezone, minutes: loc.appointment_minutes,
      hours: days.join(' · ') || t('appt_closed') });
  }

  renderList(appointments) {
    if (!appointments.length) {
      this.list.replaceChildren(h('li', { class: 'muted', text: t('appt_none') }));
      return;
    }
    this.list.replaceChildren(...appointments.map((a) => {
      const booked = a.status === 'booked';
      const unassigned = booked && !a.agent;
      return h('li', { class: `appt-row${booked ? '' : ' cancelled'}`, dataset: { appointmentId: a.id } },
        h('span', { class: 'appt-main' },
          h('strong', { text: fmtAt(a.starts_at, a.location.timezone) }),
          h('span', { class: 'muted', text: ` · ${a.location.name}${a.agent ? ` · ${t('appt_with', { agent: a.agent.name })}` : ''}` }),
          h('span', { class: `status-pill${booked ? ' status-open' : ' status-closed'}`,
            text: t(`appt_status_${a.status}`) }),
          unassigned ? h('span', { class: 'status-pill status-pending', text: t('appt_unassigned') }) : null),
        booked ? h('span', { class: 'appt-actions' },
          unassigned ? h('button', { type: 'button', text: t('appt_take_over'),
            'aria-label': t('appt_take_over_label', { when: fmtAt(a.starts_at, a.location.timezone) }),
            onclick: () => this.takeOver(a) }) : null,
          h('button', { type: 'button', text: t('appt_move'), 'aria-label': t('appt_move_label', { when: fmtAt(a.starts_at, a.location.timezone) }),
            onclick: () => this.startMoving(a) }),
          h('button', { type: 'button', class: 'btn-danger', text: t('appt_cancel'),
            'aria-label': t('appt_cancel_label', { when: fmtAt(a.starts_at, a.location.timezone) }),
            onclick: () => this.cancel(a) })) : null);
    }));
  }

  showError(message) {
    this.errorEl.textContent = message;
    this.errorEl.hidden = false;
  }

  async submit() {
    const f = this.form.elements;
    if (!f.starts_at.value) {
      this.showError(t('appt_pick_time'));
      f.starts_at.focus();
      return;
    }
    const body = {
      location_id: Number(f.location.value),
      starts_at: f.starts_at.value,
      agent_id: Number(f.agent.value) || null,
      notes: f.notes.value.trim(),
    };
    const button = this.form.querySelector('[data-act="submit"]');
    button.disabled = true;
    this.errorEl.hidden = true;
    try {
      if (this.editing) {
        await api.patch(`/inbox/api/appointments/${this.editing.id}`, body);
        this.app.toast(t('appt_moved'));
      } else {
        await api.post(`/inbox/api/tickets/${this.conv.id}/appointments`, body);
        this.app.toast(t('appt_booked'));
      }
      await this.refresh();
      this.startBooking();
    } catch (err) {
      this.showError(err.message);
      f.starts_at.focus();
    } finally {
      button.disabled = false;
    }
  }

  async cancel(appt) {
    if (!window.confirm(t('appt_cancel_confirm'))) return;
    try {
      await api.post(`/inbox/api/appointments/${appt.id}/cancel`, {});
      this.app.toast(t('appt_cancelled'));
      await this.refresh();
    } catch (err) {
      this.showError(err.message);
    }
  }

  async takeOver(appt) {
    this.taking = appt.id;
    this.errorEl.hidden = true;
    try {
      await api.post(`/inbox/api/appointments/${appt.id}/assign`, {});
      this.app.toast(t('appt_taken_over'));
      await this.refresh();
    } catch (err) {
      this.taking = null;
      this.showError(err.message);
    }
  }

  async refresh() {
    if (!this.conv) return;
    const data = await api.get(`/inbox/api/tickets/${this.conv.id}/appointments`);
    this.renderList(data.appointments);
  }

  /** Someone (maybe on another device) booked, moved or cancelled a visit of mine. */
  onUpdated({ appointment, change }) {
    const key = `${appointment.id}:${change}:${appointment.sequence}:${appointment.updated_at}`;
    if (key === this.lastEvent) return;
    this.lastEvent = key;
    if (this.dialog.open && this.conv && this.conv.id === appointment.ticket_id) this.refresh().catch(() => {});
    const mine = appointment.agent && appointment.agent.id === boot.me.id;
    if (change === 'assigned') {
      // A colleague gave me a visit whose agent left; taking one over myself is no news.
      if (mine && this.taking !== appointment.id) {
        this.app.toast(t('appt_toast_assigned', { name: appointment.contact.display_name,
          when: fmtAt(appointment.starts_at, appointment.location.timezone) }), 'info',
        { label: t('open'), run: () => this.app.openTicket(appointment.ticket_id) });
      }
      return;
    }
    if (!mine || appointment.created_by_id === boot.me.id) return;
    this.app.toast(t(`appt_toast_${change}`, { name: appointment.contact.display_name,
      when: fmtAt(appointment.starts_at, appointment.location.timezone) }), 'info',
    { label: t('open'), run: () => this.app.openTicket(appointment.ticket_id) });
  }
}


/** "My upcoming appointments" (templates/inbox/appointments.html) without a reload. The server
 * sends `appointment.updated` to my devices for my own visits and to my stores' agents for the
 * visits without an agent (helpdesk.events.appointment_changed), so each one this page hears
 * changes its lists: it fetches them again as the server renders them (one template for the
 * page and the update). Socket.IO delivers at most once: after a reconnect they are fetched
 * too. The forms keep working without this script; the choice made in a "Give it to" list
 * and the focus survive an update. */
export class AppointmentsPage {
  constructor(el) {
    this.el = el;
    this.pending = null;
    this.connectedOnce = false;
    this.kicked = false;
    const socket = window.io('/inbox', { transports: ['websocket', 'polling'], withCredentials: true });
    socket.on('appointment.updated', () => this.reloadSoon());
    socket.on('connect', () => {
      document.body.dataset.connected = 'true';
      this.kicked = false;
      if (this.connectedOnce) this.reloadSoon();
      this.connectedOnce = true;
    });
    socket.on('disconnect', (reason) => {
      document.body.dataset.connected = 'false';
      // The server ends my sockets when my stores or role change (see app.js): reconnect
      // once, to the rooms of the stores I see now; the lists follow on connect.
      if (reason === 'io server disconnect') {
        this.kicked = true;
        socket.connect();
      }
    });
    socket.on('connect_error', () => {
      // That reconnect refused: the account may no longer sign in (the reload shows the form).
      if (this.kicked && !socket.active) window.location.reload();
    });
  }

  reloadSoon() {
    if (this.pending) return;
    this.pending = window.setTimeout(() => { this.pending = null; this.reload(); }, LISTS_DELAY_MS);
  }

  async reload() {
    let res;
    try {
      res = await fetch(this.el.dataset.src, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
    } catch (err) {
      return; // the next change or reconnect fetches them again
    }
    if (res.redirected || res.status === 401) {
      window.location.reload(); // signed out meanwhile: the sign-in form
      return;
    }
    if (!res.ok) return;
    const html = await res.text();
    if (html === this.html) return;
    this.html = html;
    this.replace(html);
  }

  /** The lists as the server rendered them (our own template, escaped there). */
  replace(html) {
    const chosen = new Map([...this.el.querySelectorAll('select[id]')].map((s) => [s.id, s.value]));
    const active = document.activeElement;
    const item = active && this.el.contains(active) ? active.closest('[data-appointment]') : null;
    const spot = item && [item.dataset.appointment, [...item.querySelectorAll('button, select, a')].indexOf(active)];
    this.el.innerHTML = html;
    for (const [id, value] of chosen) {
      const select = document.getElementById(id);
      if (select && [...select.options].some((o) => o.value === value)) select.value = value;
    }
    if (spot) {
      const again = this.el.querySelector(`[data-appointment="${spot[0]}"]`);
      const control = again && again.querySelectorAll('button, select, a')[spot[1]];
      if (control) control.focus();
    }
  }
}

const lists = document.getElementById('appt-lists');
if (lists) new AppointmentsPage(lists);
