// The FAQ panel: search as you type (question matches first), insert an answer into the
// open conversation's reply box; admins add, edit and delete entries.
import { api, boot, debounce, h, request, t } from './util.js';

export class Faq {
  constructor(app) {
    this.app = app;
    this.admin = boot.me.role === 'admin';
    this.dialog = document.getElementById('faq-dialog');
    this.q = document.getElementById('faq-q');
    this.results = document.getElementById('faq-results');
    this.status = document.getElementById('faq-status');
    this.form = document.getElementById('faq-form');
    document.getElementById('open-faq').addEventListener('click', () => this.open());
    this.dialog.querySelector('[data-act="close"]').addEventListener('click', () => this.dialog.close());
    document.getElementById('faq-search').addEventListener('submit', (ev) => { ev.preventDefault(); this.search(); });
    this.q.addEventListener('input', debounce(() => this.search(), 250));
    if (this.admin) this.bindForm();
  }

  open() {
    this.dialog.showModal();
    this.q.focus();
    this.search();
  }

  async search() {
    const q = this.q.value.trim();
    const token = (this.token || 0) + 1;
    this.token = token;
    let data;
    try {
      data = await api.get(`/api/v1/faq${q ? `?q=${encodeURIComponent(q)}` : ''}`);
    } catch (err) {
      this.status.textContent = err.message;
      return;
    }
    if (token !== this.token) return; // a newer search already answered
    this.items = data.items;
    this.status.textContent = data.items.length ? t('faq_found', { num: data.items.length }) : t('faq_none');
    this.results.replaceChildren(...data.items.map((entry) => this.item(entry)));
  }

  item(entry) {
    const answer = h('div', { class: 'faq-answer' });
    answer.innerHTML = entry.answer_html; // plain text escaped and linkified by helpdesk.text on the server
    const actions = h('div', { class: 'faq-actions' },
      h('button', { type: 'button', onclick: () => this.insert(entry) }, t('faq_insert')));
    if (this.admin) {
      actions.append(
        h('button', { type: 'button', onclick: () => this.edit(entry) }, t('edit')),
        h('button', { type: 'button', class: 'btn-danger', onclick: () => this.remove(entry) }, t('delete')),
      );
    }
    return h('li', { class: 'faq-entry', dataset: { entryId: entry.id } },
      h('h3', { class: 'faq-question' }, entry.question),
      answer,
      entry.tags.length ? h('p', { class: 'muted small' }, entry.tags.map((x) => `#${x}`).join(' ')) : null,
      actions);
  }

  insert(entry) {
    const conv = this.app.conversations.get(this.app.active);
    if (!conv) {
      this.app.toast(t('faq_no_conversation'), 'error');
      return;
    }
    const box = conv.textarea;
    box.value = box.value ? `${box.value.replace(/\s+$/, '')}\n${entry.answer}` : entry.answer;
    box.dispatchEvent(new Event('input', { bubbles: true }));
    this.dialog.close();
    box.focus();
    this.app.toast(t('faq_inserted'));
  }

  // ---- admins ----------------------------------------------------------------------------

  bindForm() {
    const form = this.form;
    form.hidden = false;
    form.elements.store_id.replaceChildren(h('option', { value: '' }, t('faq_all_stores')),
      ...boot.stores.map((s) => h('option', { value: s.id }, s.name)));
    form.querySelector('[data-act="reset"]').addEventListener('click', () => form.reset());
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.save(); });
  }

  edit(entry) {
    const f = this.form.elements;
    f.id.value = entry.id;
    f.question.value = entry.question;
    f.answer.value = entry.answer;
    f.tags.value = entry.tags.join(', ');
    f.store_id.value = entry.store_id || '';
    f.question.focus();
  }

  async save() {
    const f = this.form.elements;
    const error = this.form.querySelector('.error');
    error.hidden = true;
    const body = {
      question: f.question.value.trim(),
      answer: f.answer.value.trim(),
      tags: f.tags.value.split(',').map((x) => x.trim()).filter(Boolean),
      store_id: Number(f.store_id.value) || null,
    };
    try {
      if (f.id.value) await api.patch(`/api/v1/faq/${f.id.value}`, body);
      else await api.post('/api/v1/faq', body);
      this.form.reset();
      this.app.toast(t('faq_saved'));
      await this.search();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  async remove(entry) {
    if (!window.confirm(t('faq_delete_confirm'))) return;
    try {
      await request('DELETE', `/api/v1/faq/${entry.id}`);
      await this.search();
    } catch (err) {
      this.app.toast(err.message, 'error');
    }
  }
}
