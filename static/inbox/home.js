// The home panel: shoppers on each storefront now, chats waiting, the go-available nudge and
// my attributed sales. It refreshes when the events it depends on arrive (queue changes,
// visitors' pages, availability, attributions) and on a timer otherwise: shoppers leaving a
// storefront send no event.
import { api, fmtTime, h, t } from './util.js';

const REFRESH_MS = 20000;
// However busy the stores, at most one reload per this many ms for live events.
const LIVE_DELAY_MS = 1500;
const LIVE_EVENTS = ['ticket.created', 'ticket.updated', 'visitor.updated', 'agent.availability',
  'attribution.created', 'attribution.updated'];

export class Home {
  constructor(app) {
    this.app = app;
    this.el = document.getElementById('home');
    this.nudge = document.getElementById('home-nudge');
    this.storesEl = document.getElementById('home-stores');
    this.salesEl = document.getElementById('home-sales');
    this.pending = null;
    this.stale = false;
    this.nudge.querySelector('[data-act="go-available"]').addEventListener('click', () => this.goAvailable());
    document.getElementById('open-home').addEventListener('click', () => this.app.showHome());
    for (const name of LIVE_EVENTS) app.socket.on(name, () => this.refreshSoon());
    app.socket.on('connect', () => this.refreshSoon());
    this.timer = window.setInterval(() => { if (this.isShown()) this.load(); }, REFRESH_MS);
    document.addEventListener('visibilitychange', () => { if (this.stale && this.isShown()) this.load(); });
    this.load();
  }

  isShown() {
    return document.visibilityState === 'visible' && this.el.offsetParent !== null;
  }

  /** Live events reload the panel, throttled: a busy queue sends many per second, and a
   * hidden panel only notes that it is stale (it reloads when shown again). */
  refreshSoon() {
    if (!this.isShown()) { this.stale = true; return; }
    if (this.pending) return;
    this.pending = window.setTimeout(() => { this.pending = null; this.load(); }, LIVE_DELAY_MS);
  }

  figure(name, text) {
    this.el.querySelector(`[data-figure="${name}"]`).textContent = text;
  }

  async load() {
    this.stale = false;
    let data;
    try {
      data = await api.get('/inbox/api/home');
    } catch (err) {
      return; // the next event or tick tries again; the panel keeps what it showed
    }
    this.render(data);
  }

  render(data) {
    this.data = data;
    this.el.dataset.loaded = 'true';
    this.figure('shoppers', t('home_shoppers', { num: data.shoppers_online }));
    this.figure('waiting', t('home_waiting', { num: data.chats_waiting }));
    this.storesEl.replaceChildren(...data.stores.map((s) => h('tr', { dataset: { storeId: s.id } },
      h('th', { scope: 'row' }, s.name, s.open_now ? null : h('span', { class: 'muted small' }, ` (${t('home_closed')})`)),
      h('td', {}, String(s.shoppers_online)),
      h('td', {}, String(s.chats_waiting)))));
    this.nudge.hidden = !data.nudge;
    this.nudge.querySelector('.home-nudge-stores').textContent = data.nudge
      ? t('home_nudge_stores', { stores: data.nudge_stores.join(', ') }) : '';
    const sales = data.sales;
    this.figure('sales', sales.totals.length ? sales.totals.map((x) => x.formatted).join(' · ') : '—');
    if (!sales.items.length) {
      this.salesEl.replaceChildren(h('li', { class: 'muted small' }, t('home_no_sales')));
    } else {
      this.salesEl.replaceChildren(
        h('li', { class: 'muted small' }, t('home_sales_count', { num: sales.count })),
        ...sales.items.map((s) => h('li', {}, t('home_sale_line', {
          amount: s.formatted, number: s.order_number, when: fmtTime(s.placed_at),
        }))),
      );
    }
  }

  async goAvailable() {
    const button = this.nudge.querySelector('button');
    button.disabled = true;
    try {
      await this.app.setAvailability('available');
      await this.load();
    } finally {
      button.disabled = false;
    }
  }
}
