// Chat offers: a waiting chat offered to this agent with a countdown; accept claims it,
// decline (or the countdown running out) passes it to the next agent (helpdesk.actions.routing).
import { api, elapsed, h, t } from './util.js';

export class Offers {
  constructor(app) {
    this.app = app;
    this.el = document.getElementById('offers');
    this.cards = new Map(); // ticket id -> {card, timer}
  }

  show(ticket, expiresAt) {
    this.remove(ticket.id);
    const deadline = new Date(expiresAt).getTime();
    const name = ticket.contact ? ticket.contact.display_name : '';
    const countdown = h('span', { class: 'offer-countdown', 'aria-hidden': 'true' });
    const accept = h('button', { type: 'button', class: 'btn-primary', text: t('accept'),
      onclick: () => this.accept(ticket.id) });
    const decline = h('button', { type: 'button', text: t('decline'), onclick: () => this.decline(ticket.id, false) });
    const card = h('div', { class: 'offer', role: 'group', 'aria-label': t('offer_title', { name }) },
      h('div', { class: 'offer-head' }, h('strong', { text: t('offer_title', { name }) }), countdown),
      h('p', { class: 'offer-preview', dir: 'auto', text: ticket.last_message_preview || ticket.subject || '' }),
      h('div', { class: 'offer-actions' }, accept, decline));
    const tick = () => {
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      countdown.textContent = elapsed(new Date(Date.now() - left * 1000).toISOString());
      if (left <= 0) this.decline(ticket.id, true);
    };
    tick();
    const timer = window.setInterval(tick, 1000);
    this.cards.set(ticket.id, { card, timer });
    this.el.append(card);
    this.app.notify(t('offer_title', { name }), ticket.last_message_preview || '', ticket.id, { force: true });
  }

  remove(ticketId) {
    const entry = this.cards.get(ticketId);
    if (!entry) return;
    window.clearInterval(entry.timer);
    entry.card.remove();
    this.cards.delete(ticketId);
  }

  async accept(ticketId) {
    this.remove(ticketId);
    try {
      const ticket = await api.post(`/api/v1/tickets/${ticketId}/claim`);
      this.app.onTicketUpdated(ticket);
      this.app.openTicket(ticketId);
    } catch (err) {
      this.app.toast(err.message, 'error');
    }
  }

  decline(ticketId, expired) {
    if (!this.cards.has(ticketId)) return;
    this.remove(ticketId);
    this.app.call('decline_offer', { ticket_id: ticketId, expired });
  }

  /** Someone took the chat (or it was closed): the offer is moot. */
  ticketChanged(ticket) {
    if (this.cards.has(ticket.id) && (ticket.assignee || ticket.status !== 'open')) this.remove(ticket.id);
  }
}
