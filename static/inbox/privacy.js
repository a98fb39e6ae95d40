// A customer's data on their request, from the context panel (admins): download everything the
// helpdesk holds about them (GET /api/v1/contacts/<id>/export), or erase it for good
// (POST /api/v1/contacts/<id>/erase) after typing their address or ERASE in a dialog
// (templates/inbox/privacy_dialog.html). Every open inbox hears `contact.erased` and loads the
// conversations it shows again, so erased words leave every screen, not only this one.
import { api, boot, fmtDateTime, h, t } from './util.js';

/** The word that confirms an erasure when the customer has no address (or the admin prefers it). */
const KEYWORD = 'ERASE';

export class Privacy {
  constructor(app) {
    this.app = app;
    this.contact = null;
    this.dialog = document.getElementById('erase-dialog'); // only on admins' pages
    if (this.dialog) this.bind();
  }

  /** The context panel's section for ``contact``, or null for agents who are not admins. */
  section(contact) {
    if (boot.me.role !== 'admin' || !this.dialog) return null;
    const erasure = contact.platform_ids && contact.platform_ids.erased;
    const body = erasure
      ? [h('p', { class: 'muted small', text: t('privacy_erased_on', { date: fmtDateTime(erasure.at) }) })]
      : [h('p', { class: 'muted small', text: t('privacy_hint') }),
        h('div', { class: 'ctx-privacy' },
          h('a', { class: 'btn', href: `/api/v1/contacts/${contact.id}/export`, download: '',
            text: t('privacy_export') }),
          h('button', { type: 'button', class: 'btn-danger', text: t('privacy_erase'),
            onclick: () => this.openErase(contact) }))];
    return h('section', { class: 'ctx-section' }, h('h3', { text: t('privacy_title') }), ...body);
  }

  bind() {
    const form = this.dialog.querySelector('form');
    this.input = form.elements.confirm;
    this.submit = form.querySelector('[type="submit"]');
    this.error = form.querySelector('.error');
    form.querySelector('[data-act="cancel"]').addEventListener('click', () => this.dialog.close());
    this.input.addEventListener('input', () => { this.submit.disabled = !this.confirmed(); });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (this.confirmed()) this.erase();
    });
  }

  confirmed() {
    const typed = this.input.value.trim();
    const email = (this.contact && this.contact.email) || '';
    return typed === KEYWORD || (email !== '' && typed.toLowerCase() === email.toLowerCase());
  }

  openErase(contact) {
    this.contact = contact;
    // As text: a customer's "name" is whatever they typed into a form.
    this.dialog.querySelector('[data-field="name"]').textContent = contact.display_name || '';
    this.dialog.querySelector('[data-field="email"]').textContent = contact.email || '';
    this.dialog.querySelector('[data-when="email"]').hidden = !contact.email;
    this.dialog.querySelector('[data-when="no-email"]').hidden = Boolean(contact.email);
    this.input.value = '';
    this.submit.disabled = true;
    this.error.hidden = true;
    this.dialog.showModal();
    this.input.focus();
  }

  async erase() {
    const contact = this.contact;
    this.submit.disabled = true;
    this.error.hidden = true;
    try {
      const placeholder = await api.post(`/api/v1/contacts/${contact.id}/erase`, { confirm: true });
      this.dialog.close();
      this.app.toast(t('privacy_erased'));
      this.onErased({ contact: placeholder, ticket_ids: [] });
    } catch (err) {
      this.error.textContent = err.message;
      this.error.hidden = false;
      this.submit.disabled = !this.confirmed();
    }
  }

  /** `contact.erased` (or this page's own erasure): drop what the open views show of them. */
  onErased({ contact, ticket_ids: ticketIds }) {
    const ids = new Set(ticketIds || []);
    this.app.contactUpdated(contact);
    for (const conv of this.app.conversations.values()) {
      const theirs = conv.ticket && conv.ticket.contact && conv.ticket.contact.id === contact.id;
      if (ids.has(conv.id) || theirs) conv.load(); // the timeline and the context, as they are now
    }
    const listed = [...this.app.queue.tickets.values()];
    if (listed.some((tk) => ids.has(tk.id) || (tk.contact && tk.contact.id === contact.id))) this.app.queue.load();
    if (this.dialog && this.dialog.open && this.contact && this.contact.id === contact.id) this.dialog.close();
  }
}
