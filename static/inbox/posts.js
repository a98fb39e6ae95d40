// Posts: announcements from admins. The badge counts my unread posts; a new post arrives
// live (`post.published`). Admins publish, edit and delete from the same dialog.
import { ApiError, api, boot, fmtDateTime, h, request, t } from './util.js';

export class Posts {
  constructor(app) {
    this.app = app;
    this.admin = boot.me.role === 'admin';
    this.dialog = document.getElementById('posts-dialog');
    this.list = document.getElementById('posts-list');
    this.empty = document.getElementById('posts-empty');
    this.badge = document.getElementById('posts-unread');
    this.button = document.getElementById('open-posts');
    this.form = document.getElementById('post-form');
    this.items = [];
    this.button.addEventListener('click', () => this.open());
    this.dialog.querySelector('[data-act="close"]').addEventListener('click', () => this.dialog.close());
    app.socket.on('post.published', ({ post }) => this.published(post));
    if (this.admin) this.bindForm();
    this.load();
  }

  setUnread(count) {
    this.unread = count;
    this.badge.hidden = !count;
    this.badge.textContent = count ? String(count) : '';
    this.button.setAttribute('aria-label', count ? `${this.button.firstChild.textContent.trim()}, ${t('posts_unread', { count })}`
      : this.button.firstChild.textContent.trim());
  }

  async load() {
    try {
      const data = await api.get(`/api/v1/posts${this.admin ? '?manage=true' : ''}`);
      this.items = data.items;
      this.setUnread(data.unread);
      this.render();
    } catch (err) {
      this.app.toast(err.message, 'error');
    }
  }

  async open() {
    this.dialog.showModal();
    await this.load();
  }

  published(post) {
    if (post.author && post.author.id === boot.me.id) return; // my own post: already read
    // A list loaded just after the post was published holds it, and its count too.
    if (!this.items.some((p) => p.id === post.id)) {
      this.items.unshift({ ...post, read: false });
      this.setUnread((this.unread || 0) + 1);
    }
    this.render();
    this.app.toast(t('post_new', { title: post.title }), 'info', { label: t('open'), run: () => this.open() });
  }

  render() {
    this.empty.hidden = this.items.length > 0;
    this.list.replaceChildren(...this.items.map((post) => this.item(post)));
  }

  item(post) {
    const body = h('div', { class: 'post-body' });
    body.innerHTML = post.body_html; // plain text escaped and linkified by helpdesk.text on the server
    const actions = h('div', { class: 'post-actions' });
    if (post.read === false) {
      actions.append(h('button', { type: 'button', onclick: () => this.markRead(post) }, t('post_mark_read')));
    }
    if (this.admin) {
      actions.append(
        h('button', { type: 'button', onclick: () => this.edit(post) }, t('post_edit')),
        h('button', { type: 'button', class: 'btn-danger', onclick: () => this.remove(post) }, t('post_delete')),
      );
    }
    return h('li', { class: `post${post.read === false ? ' is-unread' : ''}`, dataset: { postId: post.id } },
      h('h3', { class: 'post-title' },
        post.pinned ? h('span', { class: 'flag' }, t('post_pinned')) : null,
        post.read === false ? h('span', { class: 'badge' }, t('post_unread')) : null,
        ' ', post.title),
      h('p', { class: 'muted small' }, t('post_by', { name: post.author ? post.author.name : t('system'),
        when: fmtDateTime(post.published_at) })),
      body, actions);
  }

  async markRead(post) {
    try {
      const result = await api.post(`/api/v1/posts/${post.id}/read`);
      post.read = true;
      this.setUnread(result.unread);
      this.render();
    } catch (err) {
      this.app.toast(err.message, 'error');
    }
  }

  // ---- admins ----------------------------------------------------------------------------

  bindForm() {
    const form = this.form;
    form.hidden = false;
    const teams = form.elements.team_id;
    const stores = form.elements.store_id;
    teams.replaceChildren(...boot.teams.map((x) => h('option', { value: x.id }, x.name)));
    stores.replaceChildren(...boot.stores.map((x) => h('option', { value: x.id }, x.name)));
    const sync = () => {
      form.querySelector('.pick-team').hidden = form.elements.audience.value !== 'team';
      form.querySelector('.pick-store').hidden = form.elements.audience.value !== 'store';
    };
    form.elements.audience.addEventListener('change', sync);
    form.querySelector('[data-act="reset"]').addEventListener('click', () => { form.reset(); sync(); });
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.save(); });
    sync();
    this.syncAudience = sync;
  }

  edit(post) {
    const f = this.form.elements;
    f.id.value = post.id;
    f.title.value = post.title;
    f.body.value = post.body;
    f.audience.value = post.audience;
    if (post.team_id) f.team_id.value = post.team_id;
    if (post.store_id) f.store_id.value = post.store_id;
    f.pinned.checked = post.pinned;
    this.syncAudience();
    f.title.focus();
  }

  async save() {
    const f = this.form.elements;
    const error = this.form.querySelector('.error');
    error.hidden = true;
    const body = { title: f.title.value.trim(), body: f.body.value, audience: f.audience.value, pinned: f.pinned.checked };
    if (body.audience === 'team') body.team_id = Number(f.team_id.value) || null;
    if (body.audience === 'store') body.store_id = Number(f.store_id.value) || null;
    try {
      if (f.id.value) await api.patch(`/api/v1/posts/${f.id.value}`, body);
      else await api.post('/api/v1/posts', body);
      this.form.reset();
      this.syncAudience();
      this.app.toast(t('post_published'));
      await this.load();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  async remove(post) {
    if (!window.confirm(t('post_delete_confirm'))) return;
    try {
      await request('DELETE', `/api/v1/posts/${post.id}`);
      await this.load();
    } catch (err) {
      this.app.toast(err instanceof ApiError ? err.message : t('request_failed'), 'error');
    }
  }
}
