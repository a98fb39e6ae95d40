// Dialogs of a conversation: transfer (agent or team, note, optional message to the shopper)
// and product cards (search the store's catalog, send a card).
import { api, boot, debounce, fmtPrice, h, safeUrl, t } from './util.js';

export class Dialogs {
  constructor(app) {
    this.app = app;
    this.conv = null;
    this.transfer = document.getElementById('transfer-dialog');
    this.transferForm = document.getElementById('transfer-form');
    this.products = document.getElementById('product-dialog');
    this.productQ = document.getElementById('product-q');
    this.productList = document.getElementById('product-results');
    this.bindTransfer();
    this.bindProducts();
  }

  // ---- transfer ------------------------------------------------------------------------

  bindTransfer() {
    const form = this.transferForm;
    const sync = () => {
      const team = form.elements.target.value === 'team';
      form.querySelector('.pick-agent').hidden = team;
      form.querySelector('.pick-team').hidden = !team;
    };
    for (const radio of form.querySelectorAll('input[name="target"]')) radio.addEventListener('change', sync);
    form.querySelector('[data-act="cancel"]').addEventListener('click', () => this.transfer.close());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const conv = this.conv;
      const team = form.elements.target.value === 'team';
      const body = {
        note: form.elements.note.value.trim(),
        message_to_customer: form.elements.message.value.trim(),
      };
      if (team) body.to_team_id = Number(form.elements.team.value) || null;
      else body.to_agent_id = Number(form.elements.agent.value) || null;
      const error = form.querySelector('.error');
      error.hidden = true;
      const button = form.querySelector('[type="submit"]');
      button.disabled = true;
      try {
        const ticket = await api.post(`/api/v1/tickets/${conv.id}/transfer`, body);
        conv.setTicket(ticket);
        this.app.queue.upsert(ticket);
        this.transfer.close();
        this.app.toast(t('transferred'));
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    sync();
  }

  async openTransfer(conv) {
    this.conv = conv;
    const form = this.transferForm;
    form.reset();
    form.querySelector('.error').hidden = true;
    form.querySelector('.pick-agent').hidden = false;
    form.querySelector('.pick-team').hidden = true;
    const agentSel = form.elements.agent;
    const teamSel = form.elements.team;
    const storeId = conv.ticket ? conv.ticket.store_id : null;
    teamSel.replaceChildren(...boot.teams.filter((tm) => tm.store_id === null || tm.store_id === storeId)
      .map((tm) => h('option', { value: tm.id, text: tm.name })));
    form.querySelector('.team-choice').hidden = teamSel.options.length === 0;
    agentSel.replaceChildren(h('option', { value: '', text: t('loading') }));
    this.transfer.showModal();
    try {
      const agents = (await api.get('/api/v1/agents')).items.filter((a) => a.id !== boot.me.id);
      agents.sort((a, b) => (a.availability === 'available' ? 0 : 1) - (b.availability === 'available' ? 0 : 1)
        || a.name.localeCompare(b.name));
      agentSel.replaceChildren(...agents.map((a) => h('option', { value: a.id,
        text: `${a.name} (${t(`availability_${a.availability}`)})` })));
      if (!agents.length) agentSel.replaceChildren(h('option', { value: '', text: t('no_agents') }));
    } catch (err) {
      agentSel.replaceChildren(h('option', { value: '', text: err.message }));
    }
    agentSel.focus();
  }

  // ---- product cards -------------------------------------------------------------------

  bindProducts() {
    const search = debounce(() => this.searchProducts(), 250);
    this.productQ.addEventListener('input', search);
    document.getElementById('product-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.searchProducts(); });
    this.products.querySelector('[data-act="cancel"]').addEventListener('click', () => this.products.close());
  }

  openProducts(conv) {
    this.conv = conv;
    this.productQ.value = '';
    this.productList.replaceChildren();
    this.products.showModal();
    this.productQ.focus();
    this.searchProducts();
  }

  async searchProducts() {
    const conv = this.conv;
    const q = this.productQ.value.trim();
    let items;
    try {
      items = (await api.get(`/inbox/api/tickets/${conv.id}/products?q=${encodeURIComponent(q)}`)).items;
    } catch (err) {
      this.productList.replaceChildren(h('li', { class: 'error', text: err.message }));
      return;
    }
    if (!items.length) {
      this.productList.replaceChildren(h('li', { class: 'muted', text: t('no_products') }));
      return;
    }
    this.productList.replaceChildren(...items.map((p) => {
      const img = safeUrl(p.image_url);
      return h('li', { class: 'product-row' },
        img ? h('img', { src: img, alt: '', loading: 'lazy' }) : h('span', { class: 'img-placeholder' }),
        h('span', { class: 'product-main' }, h('strong', { text: p.title }),
          h('span', { class: 'muted', text: fmtPrice(p.price, p.currency) })),
        h('button', {
          type: 'button', class: 'btn-primary', text: t('send'),
          'aria-label': t('send_product', { title: p.title }),
          onclick: async () => {
            const card = { title: p.title, price: p.price, currency: p.currency, image_url: p.image_url, url: p.url };
            const ok = await conv.send({ kind: 'reply', product_card: card });
            if (ok) this.products.close();
          },
        }));
    }));
  }
}
