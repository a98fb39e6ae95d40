// The onboarding academy. On the academy page: the introduction, policy and practice buttons.
// In the inbox: a panel with the practice chat's steps, ticked live from `academy.progress`
// (the server records each step from the real claim/reply; this script only shows them).
import { api, boot, h, t } from './util.js';

const STEPS = ['claimed', 'replied', 'saved_reply', 'product_card'];

function markDone(step) {
  step.classList.add('done');
  const title = step.querySelector('h2');
  if (!title.querySelector('.tick')) {
    title.append(' ', h('span', { class: 'tick' }, '✓ ', h('span', { class: 'sr-only', text: t('academy_done') })));
  }
}

// Brings the server-rendered page up to date with the progress JSON, so each step shows as
// done (and unlocks the next) without reloading the page.
function applyProgress(progress) {
  const intro = document.getElementById('step-intro');
  if (progress.intro_done_at) {
    markDone(intro);
    intro.querySelector('[data-academy="intro"]')?.remove();
  }
  const policies = document.getElementById('step-policies');
  const policiesDone = Boolean(progress.policies_done_at) && progress.pending_policies.length === 0;
  if (policiesDone) {
    markDone(policies);
    const current = progress.accepted_policies.filter((a) => a.version === a.current_version);
    const list = h('ul', { class: 'accepted-policies' },
      current.map((a) => h('li', { text: t('academy_policy_accepted', { title: a.title, version: a.version }) })));
    const form = policies.querySelector('#policies-form');
    if (form) form.replaceWith(list);
    policies.querySelector('[data-academy="no-policies"]')?.remove();
  } else {
    policies.querySelectorAll('#policies-form [type="submit"], [data-academy="no-policies"]')
      .forEach((btn) => { btn.disabled = !progress.intro_done_at; });
  }
  const practice = document.getElementById('step-practice');
  const start = practice.querySelector('[data-academy="practice"]');
  if (progress.completed_at) {
    markDone(practice);
    start?.remove();
  } else if (start) {
    start.disabled = !(progress.intro_done_at && policiesDone);
    start.textContent = t(progress.practice_ticket_id ? 'academy_practice_continue' : 'academy_practice_start');
  }
  const status = document.getElementById('academy-status');
  if (progress.trained) {
    status.className = 'academy-done';
    status.textContent = t('academy_page_done');
  }
}

function academyPage(root) {
  const error = document.getElementById('academy-error');
  const fail = (err) => { error.textContent = err.message; error.hidden = false; };
  const post = async (url, body) => {
    try {
      error.hidden = true;
      return await api.post(url, body);
    } catch (err) {
      fail(err);
      return null;
    }
  };
  // After a step: the progress JSON, not a reload (and not the step's own answer, so the page
  // shows what the server holds now, whatever else changed meanwhile).
  const refresh = async () => {
    try {
      applyProgress((await api.get('/inbox/academy/api/progress')).progress);
      return true;
    } catch (err) {
      fail(err);
      return false;
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
    if (!res || !(await refresh())) btn.disabled = false;
    // The next step's first control takes the focus that the removed button had.
    if (res) document.querySelector('.academy-step:not(.done) :is(input, button):not([disabled])')?.focus();
  });
  const form = document.getElementById('policies-form');
  if (form) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const ids = [...form.querySelectorAll('input[name="policy_ids"]:checked')].map((i) => Number(i.value));
      if (await post('/inbox/academy/api/policies', { policy_ids: ids })) {
        await refresh();
        document.querySelector('[data-academy="practice"]:not([disabled])')?.focus();
      }
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
