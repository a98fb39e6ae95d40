// The onboarding academy. On the academy page: the introduction, policy and practice buttons.
// In the inbox: a panel with the practice chat's steps, ticked live from `academy.progress`
// (the server records each step from the real claim/reply; this script only shows them).
import { api, boot, h, t } from './util.js';

const STEPS = ['claimed', 'replied', 'saved_reply', 'product_card'];

function academyPage(root) {
  const error = document.getElementById('academy-error');
  const fail = (err) => { error.textContent = err.message; error.hidden = false; };
  const post = async (url, body) => {
    try {
      return await api.post(url, body);
    } catch (err) {
      fail(err);
      return null;
    }
  };
  root.addEventListener('click', async (ev) => {
    const btn = ev.target.closest('[data-academy]');
    if (!btn) return;
    btn.disabled = true;
    const what = btn.dataset.academy;
    let res = null;
    if (what === 'intro') res = await post('/inbox/academy/api/intro');
    else if (what === 'no-policies') res = await post('/inbox/academy/api/policies', { policy_ids: [] });
    else if (what === 'practice') {
      res = await post('/inbox/academy/api/practice');
      if (res) { window.location.assign('/inbox/'); return; }
    }
    if (res) window.location.reload();
    else btn.disabled = false;
  });
  const form = document.getElementById('policies-form');
  if (form) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const ids = [...form.querySelectorAll('input[name="policy_ids"]:checked')].map((i) => Number(i.value));
      if (await post('/inbox/academy/api/policies', { policy_ids: ids })) window.location.reload();
    });
  }
}

class PracticePanel {
  constructor(inbox, progress) {
    this.inbox = inbox;
    this.el = document.getElementById('academy-panel');
    this.opened = false;
    this.render(progress);
    inbox.socket.on('academy.progress', ({ progress: next }) => this.render(next));
  }

  render(progress) {
    if (!this.el) return;
    if (progress.trained && !this.wasTraining) { this.el.hidden = true; return; }
    this.wasTraining = true;
    this.el.hidden = false;
    const items = STEPS.map((step) => {
      const done = Boolean(progress.practice_steps && progress.practice_steps[step]);
      return h('li', { class: done ? 'done' : '', dataset: { step } },
        h('span', { class: 'tick', 'aria-hidden': 'true', text: done ? '✓' : '○' }),
        ' ', t(`academy_step_${step}`), done ? h('span', { class: 'sr-only', text: ` (${t('academy_done')})` }) : null);
    });
    const body = [h('h2', { text: t('academy_title') })];
    if (progress.trained) {
      body.push(h('p', { role: 'status', class: 'academy-complete', text: t('academy_complete') }));
    } else if (progress.practice_ticket_id) {
      body.push(h('p', { text: t('academy_practice_hint') }), h('ul', { class: 'academy-checklist' }, ...items),
        h('button', { type: 'button', class: 'link-btn', text: t('academy_open_practice'),
          onclick: () => this.inbox.openTicket(progress.practice_ticket_id) }));
      if (!this.opened) {
        this.opened = true;
        this.inbox.openTicket(progress.practice_ticket_id);
      }
    } else {
      body.push(h('p', { text: t('academy_not_done') }), h('a', { href: '/inbox/academy/', text: t('academy_go') }));
    }
    this.el.replaceChildren(...body);
  }
}

const page = document.getElementById('academy');
if (page) academyPage(page);
else if (window.inbox && boot.academy && !boot.academy.trained) new PracticePanel(window.inbox, boot.academy);
