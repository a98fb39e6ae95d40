// Saved replies in the reply box: typing "/" (then a shortcut or words of a title) lists
// them; picking one inserts its body with the placeholders filled for this conversation.
import { api, h, t } from './util.js';

let savedReplies = null; // one shared request (a promise), fetched on first use

function loadSavedReplies() {
  if (savedReplies === null) {
    savedReplies = api.get('/api/v1/saved-replies').then((res) => res.items, () => {
      savedReplies = null; // try again next time
      return [];
    });
  }
  return savedReplies;
}

/** Fill a saved reply's placeholders from the conversation it goes into. */
export function fillPlaceholders(body, { contact, agent, attributes, orders }) {
  const latestOrder = orders && orders.length ? orders[0].number : '';
  const name = (contact && (contact.name || '')) || '';
  const values = {
    'contact.first_name': name.split(/\s+/)[0] || '',
    'contact.name': name,
    'contact.email': (contact && contact.email) || '',
    'agent.name': (agent && agent.name) || '',
    'agent.first_name': ((agent && agent.name) || '').split(/\s+/)[0] || '',
    order_number: (attributes && attributes.order_number) ? String(attributes.order_number) : (latestOrder || ''),
  };
  return body.replace(/\{\s*([\w.]+)\s*\}/g, (whole, key) => (key in values ? values[key] : whole));
}

export class SavedReplyPicker {
  /** ``values()`` gives {contact, agent, attributes, orders}; ``onPicked()`` runs after an insert. */
  constructor(textarea, list, id, values, onPicked) {
    this.textarea = textarea;
    this.list = list;
    this.list.id = id;
    this.textarea.setAttribute('aria-controls', id);
    this.values = values;
    this.onPicked = onPicked;
    this.items = [];
    this.index = 0;
    this.seq = 0;
  }

  /** Arrow keys, Enter/Tab and Escape while the list is open; true when the key was used. */
  handleKey(ev) {
    if (this.list.hidden || !this.items.length) return false;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const n = this.items.length;
      this.index = (this.index + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.paint();
    } else if (ev.key === 'Enter' || ev.key === 'Tab') {
      this.pick(this.items[this.index]);
    } else if (ev.key === 'Escape') {
      this.close();
    } else {
      return false;
    }
    ev.preventDefault();
    return true;
  }

  slashToken() {
    const before = this.textarea.value.slice(0, this.textarea.selectionStart);
    const match = /(^|\s)\/([\w-]*)$/.exec(before);
    return match ? { query: match[2].toLowerCase(), start: before.length - match[2].length - 1 } : null;
  }

  async update() {
    const seq = (this.seq = (this.seq || 0) + 1);
    if (!this.slashToken()) { this.close(); return; }
    const replies = await loadSavedReplies();
    // Typing went on while the replies loaded: only the latest call may paint.
    const token = this.slashToken();
    if (seq !== this.seq || !token) return;
    const q = token.query;
    this.items = replies.filter((r) => r.shortcut.toLowerCase().startsWith(q)
      || r.title.toLowerCase().includes(q)).slice(0, 50); // a bare "/" browses them all
    this.index = 0;
    this.paint();
  }

  paint() {
    if (!this.items.length) {
      this.list.replaceChildren(h('li', { class: 'suggest-empty', text: t('no_saved_replies') }));
      this.list.hidden = false;
      this.textarea.removeAttribute('aria-activedescendant');
      return;
    }
    const items = this.items.map((r, i) => h('li', {
      id: `${this.list.id}-${i}`, role: 'option', 'aria-selected': i === this.index ? 'true' : 'false',
      class: i === this.index ? 'selected' : '',
      onmousedown: (ev) => { ev.preventDefault(); this.pick(r); },
    }, h('span', { class: 'suggest-shortcut', text: `/${r.shortcut}` }), h('span', { text: r.title })));
    this.list.replaceChildren(...items);
    this.list.hidden = false;
    this.textarea.setAttribute('aria-activedescendant', `${this.list.id}-${this.index}`);
  }

  close() {
    this.seq = (this.seq || 0) + 1; // a pending lookup must not reopen it
    this.list.hidden = true;
    this.items = [];
    this.textarea.removeAttribute('aria-activedescendant');
  }

  pick(reply) {
    const token = this.slashToken();
    if (!token || !reply) { this.close(); return; }
    const text = fillPlaceholders(reply.body, this.values());
    const value = this.textarea.value;
    const caret = this.textarea.selectionStart;
    this.textarea.value = value.slice(0, token.start) + text + value.slice(caret);
    const pos = token.start + text.length;
    this.textarea.setSelectionRange(pos, pos);
    this.close();
    this.onPicked();
    this.textarea.focus();
  }
}
