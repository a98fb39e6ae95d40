// Merging a duplicate ticket into another, from a conversation's "Merge into…": the dialog
// (the customer's other open tickets, or any ticket by its number; then a confirmation that
// names both, and warns when their customers differ) and the live `ticket.merged` event.
// After a merge the target is shown with its whole timeline: it gained messages older than
// any it had, which a resume from the last id seen would never bring, so it is loaded again.
import { api, fmtDateTime, h, statusLabel, t } from './util.js';

/** The customer's other tickets listed at most (the REST API's page). */
const CANDIDATES = 50;

function contactName(ticket) {
  return (ticket.contact && ticket.contact.display_name) || t('unknown_contact');
}

/** What the ticket is about: its subject, or (a chat has none) how its latest message begins. */
function subjectOf(ticket) {
  const text = ticket.subject || ticket.last_message_preview || '';
  return text.length > 60 ? `${text.slice(0, 59)}…` : text || t('no_subject');
}

export class TicketMerge {
  constructor(app) {
    this.app = app;
    this.conv = null;
    this.target = null; // chosen and checked: the confirmation step is showing
    this.candidates = new Map();
    this.mine = new Set(); // duplicates this page merged: their event needs no toast
    this.dialog = document.getElementById('merge-dialog');
    this.form = document.getElementById('merge-form');
    this.list = document.getElementById('merge-candidates');
    this.number = document.getElementById('merge-number');
    this.errorEl = this.form.querySelector('.error');
    this.confirmBtn = this.form.querySelector('[data-act="confirm"]');
    this.bind();
    if (app.socket) app.socket.on('ticket.merged', (data) => this.onMerged(data));
  }

  bind() {
    // The button lives in every conversation panel (the template); one listener serves all.
    document.addEventListener('click', (ev) => {
      const btn = ev.target.closest('.conv [data-act="merge"]');
      if (!btn) return;
      const conv = this.app.conversations.get(Number(btn.closest('.conv').id.replace('conv-', '')));
      if (conv && conv.ticket) this.open(conv);
    });
    this.form.querySelector('[data-act="cancel"]').addEventListener('click', () => this.dialog.close());
    this.form.querySelector('[data-act="back"]').addEventListener('click', () => this.step('pick'));
    // One choice at a time: a typed number replaces the ticket picked from the list, and back.
    this.number.addEventListener('input', () => {
      if (!this.number.value.trim()) return;
      for (const radio of this.list.querySelectorAll('input')) radio.checked = false;
    });
    this.list.addEventListener('change', () => { this.number.value = ''; });
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (this.target) this.merge();
      else this.review();
    });
  }

  step(name) {
    const confirming = name === 'confirm';
    if (!confirming) this.target = null;
    this.form.querySelector('.merge-pick').hidden = confirming;
    this.form.querySelector('.merge-confirm').hidden = !confirming;
    this.form.querySelector('[data-act="next"]').hidden = confirming;
    this.form.querySelector('[data-act="back"]').hidden = !confirming;
    this.confirmBtn.hidden = !confirming;
    this.showError('');
    if (confirming) this.confirmBtn.focus();
    else (this.list.querySelector('input:checked') || this.number).focus();
  }

  showError(message) {
    this.errorEl.textContent = message;
    this.errorEl.hidden = !message;
  }

  async open(conv) {
    this.conv = conv;
    this.form.reset();
    this.candidates = new Map();
    document.getElementById('merge-title').textContent = t('merge_title', { id: conv.id });
    this.list.replaceChildren(h('li', { class: 'muted', text: t('loading') }));
    this.dialog.showModal();
    this.step('pick');
    const source = conv.ticket;
    let items;
    try {
      items = (await api.get(`/api/v1/contacts/${source.contact.id}/tickets?limit=${CANDIDATES}`)).items;
    } catch (err) {
      this.list.replaceChildren(h('li', { class: 'error', text: err.message }));
      return;
    }
    if (this.conv !== conv || !this.dialog.open) return;
    const open = items.filter((tk) => tk.id !== source.id && tk.store_id === source.store_id
      && tk.status !== 'closed' && !tk.merged_into_id);
    this.candidates = new Map(open.map((tk) => [tk.id, tk]));
    if (!open.length) {
      this.list.replaceChildren(h('li', { class: 'muted', text: t('merge_none') }));
      return;
    }
    this.list.replaceChildren(...open.map((tk) => {
      const id = `merge-to-${tk.id}`;
      const about = [t(`channel_${tk.channel}`), statusLabel(tk.status), fmtDateTime(tk.last_activity_at)];
      return h('li', { class: 'merge-option' },
        h('input', { type: 'radio', name: 'candidate', id, value: tk.id }),
        h('label', { for: id },
          h('span', { class: 'merge-option-name', text: t('merge_candidate', { id: tk.id, subject: subjectOf(tk) }) }),
          h('span', { class: 'muted small', text: about.join(' · ') })));
    }));
    // Nothing typed yet: start on the list, where the likely duplicate is.
    if (document.activeElement === this.number && !this.number.value) this.list.querySelector('input').focus();
  }

  /** The chosen ticket, checked and described: the confirmation step. */
  async review() {
    this.showError('');
    const source = this.conv.ticket;
    const typed = this.number.value.trim().replace(/^#/, '');
    const chosen = this.list.querySelector('input:checked');
    let id;
    if (typed) {
      if (!/^\d{1,10}$/.test(typed)) { this.showError(t('merge_bad_number')); return; }
      id = Number(typed);
    } else if (chosen) {
      id = Number(chosen.value);
    } else {
      this.showError(t('merge_pick'));
      return;
    }
    if (id === source.id) { this.showError(t('merge_self')); return; }
    let target = this.candidates.get(id);
    if (!target) {
      try {
        target = await api.get(`/api/v1/tickets/${id}`);
      } catch (err) {
        this.showError(err.message);
        return;
      }
    }
    // The server refuses these too; saying so here spares the agent a confirmation that fails.
    if (target.store_id !== source.store_id) { this.showError(t('merge_other_store', { id })); return; }
    if (target.merged_into_id) {
      this.showError(t('merge_target_merged', { id, into: target.merged_into_id }));
      return;
    }
    if (target.status === 'closed') { this.showError(t('merge_target_closed', { id })); return; }
    const names = {
      source: source.id, source_name: contactName(source), source_subject: subjectOf(source),
      target: target.id, target_name: contactName(target), target_subject: subjectOf(target),
    };
    document.getElementById('merge-summary').textContent = t('merge_summary', names);
    const warning = document.getElementById('merge-warning');
    // Any two customers of the store may be merged (the same person under two addresses,
    // often); the target keeps its own, which the agent should know before confirming.
    warning.hidden = !source.contact || !target.contact || source.contact.id === target.contact.id;
    warning.textContent = warning.hidden ? '' : t('merge_warning', names);
    this.confirmBtn.textContent = t('merge_confirm', names);
    this.target = target;
    this.step('confirm');
  }

  async merge() {
    const { conv, target } = this;
    this.confirmBtn.disabled = true;
    this.mine.add(conv.id);
    let ticket;
    try {
      ticket = await api.post(`/api/v1/tickets/${conv.id}/merge`, { into_ticket_id: target.id });
    } catch (err) {
      this.mine.delete(conv.id);
      this.showError(err.message);
      return;
    } finally {
      this.confirmBtn.disabled = false;
    }
    this.dialog.close();
    this.app.queue.upsert(ticket);
    this.app.toast(t('merge_done', { source: conv.id, target: ticket.id }));
    // The view moves to the target, its timeline whole; the duplicate's tab closes.
    const open = this.app.conversations.get(ticket.id);
    if (open) open.load();
    await this.app.openTicket(ticket.id);
    this.app.closeConversation(conv.id);
  }

  /** A merge anywhere in the agent's stores (theirs too: the event may come first). */
  onMerged({ ticket_id: sourceId, into_ticket_id: targetId, ticket }) {
    const { queue } = this.app;
    queue.upsert(ticket);
    queue.refreshCounts();
    // The target's unread badge takes in the duplicate's unread messages, which left it.
    queue.clearUnread(sourceId);
    queue.loadUnread([targetId]).then(() => queue.render());
    if (this.mine.delete(sourceId)) return; // merge() shows the target itself
    const target = this.app.conversations.get(targetId);
    if (target) target.load();
    // A colleague merged a ticket open here: its banner (ticket.updated) says where it went.
    if (this.app.conversations.has(sourceId)) {
      this.app.toast(t('merge_elsewhere', { source: sourceId, target: targetId }), 'info', {
        label: t('merged_open', { id: targetId }), run: () => this.app.openTicket(targetId),
      });
    }
  }
}
