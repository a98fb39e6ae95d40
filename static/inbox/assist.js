// Writing assist in the reply box: the "Assist" menu (templates/inbox/_assist.html) asks the
// server for a suggestion; it arrives as an `assist.result` event on this agent's own room
// and is shown above the draft. "Use" puts it into the reply box for review (it is never
// sent from here); "Discard" drops it. A failure leaves the draft as it was and says why.
import { announce, api, locale, t } from './util.js';

// The event is the normal path; if it is late (a reconnect lost it), ask for the request.
const POLL_MS = 5000;
const POLL_MAX = 36;

let languageNames = null;
function languageName(code) {
  if (!code) return '';
  try {
    languageNames = languageNames || new Intl.DisplayNames([locale], { type: 'language' });
    return languageNames.of(code) || code;
  } catch (err) {
    return code;
  }
}

export class Assist {
  constructor(app) {
    this.app = app;
    this.early = new Map(); // results that arrived before the request's own answer
    const panels = document.getElementById('conv-panels');
    panels.addEventListener('click', (ev) => this.onClick(ev));
    // Escape closes an open Assist menu and returns to its button (as the other menus do).
    panels.addEventListener('keydown', (ev) => {
      const menu = ev.key === 'Escape' && ev.target.closest('.assist-menu[open]');
      if (!menu) return;
      ev.preventDefault();
      ev.stopPropagation();
      menu.open = false;
      menu.querySelector('summary').focus();
    });
  }

  conversationOf(el) {
    const panel = el.closest('.conv');
    return panel ? this.app.conversations.get(Number(panel.id.replace('conv-', ''))) : null;
  }

  parts(conv) {
    const box = conv.el.querySelector('.assist-suggestion');
    return {
      box,
      menu: conv.el.querySelector('.assist-menu'),
      status: box.querySelector('.assist-status'),
      text: box.querySelector('.assist-text'),
      use: box.querySelector('[data-assist="use"]'),
    };
  }

  onClick(ev) {
    const target = ev.target.closest('[data-assist-action], [data-assist]');
    if (!target) return;
    const conv = this.conversationOf(target);
    if (!conv) return;
    if (target.dataset.assistAction) this.ask(conv, target.dataset.assistAction);
    else if (target.dataset.assist === 'use') this.use(conv);
    else if (target.dataset.assist === 'discard') this.discard(conv);
  }

  async ask(conv, action) {
    const p = this.parts(conv);
    p.menu.open = false;
    p.box.dataset.requestId = '';
    this.render(conv, { status: t('assist_working'), busy: true });
    let row;
    try {
      row = await api.post(`/inbox/api/tickets/${conv.id}/assist`, { action, draft: conv.textarea.value });
    } catch (err) {
      this.render(conv, { status: err.message, error: true });
      return;
    }
    p.box.dataset.requestId = String(row.id);
    const early = this.early.get(row.id);
    this.early.delete(row.id);
    if (early) this.show(conv, early);
    else if (row.status !== 'queued') this.show(conv, row);
    else this.poll(conv, row.id, 0);
  }

  /** The `assist.result` event (this agent's devices only). */
  onResult({ request }) {
    const conv = this.app.conversations.get(request.ticket_id);
    if (!conv) return;
    const { box } = this.parts(conv);
    if (box.dataset.requestId === String(request.id)) this.show(conv, request);
    else if (!box.dataset.requestId && !box.hidden) this.early.set(request.id, request);
  }

  poll(conv, id, round) {
    window.setTimeout(async () => {
      const { box } = this.parts(conv);
      if (box.hidden || box.dataset.requestId !== String(id) || box.dataset.state !== 'busy') return;
      try {
        const row = await api.get(`/inbox/api/assist/${id}`);
        if (row.status !== 'queued') { this.show(conv, row); return; }
      } catch (err) { /* try again on the next round */ }
      if (round + 1 < POLL_MAX) this.poll(conv, id, round + 1);
    }, POLL_MS);
  }

  show(conv, request) {
    const { box } = this.parts(conv);
    if (box.dataset.state !== 'busy') return; // answered already (event and poll both came)
    if (request.status === 'done') {
      const same = request.result.trim() === conv.textarea.value.trim();
      const heading = request.engine === 'offline'
        ? t('assist_offline', { language: languageName(request.language) }) : t('assist_suggestion');
      this.render(conv, { status: same ? t('assist_no_change') : heading, text: same ? null : request.result });
    } else {
      const key = `assist_error_${request.error}`;
      const message = t(key, { language: languageName(request.language) });
      this.render(conv, { status: message === key ? t('assist_error_internal') : message, error: true });
    }
  }

  render(conv, { status, text = null, busy = false, error = false }) {
    const p = this.parts(conv);
    p.box.hidden = false;
    p.box.dataset.state = busy ? 'busy' : (error ? 'error' : 'ready');
    p.box.classList.toggle('is-error', error);
    p.status.textContent = status;
    p.text.hidden = text === null;
    p.text.textContent = text || '';
    p.use.hidden = text === null;
    p.box.setAttribute('aria-busy', busy ? 'true' : 'false');
    if (text !== null) announce(status);
  }

  /** Put the suggestion into the reply box: the agent reviews and sends it themselves. */
  use(conv) {
    const p = this.parts(conv);
    if (p.text.hidden) return;
    conv.textarea.value = p.text.textContent;
    conv.onInput(); // keeps the saved draft in step, like typing would
    this.discard(conv);
    conv.textarea.focus();
    announce(t('assist_used'));
  }

  discard(conv) {
    const p = this.parts(conv);
    p.box.hidden = true;
    p.box.dataset.requestId = '';
    p.box.dataset.state = '';
    p.text.textContent = '';
  }
}
