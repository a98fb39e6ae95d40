// Collision detection in the queue: a ticket's row says which colleague is viewing it or
// writing a reply to it (`ticket.colleague`, sent to the store's agents), so an agent scanning
// the queue does not open and answer it too. Nothing is stored: a mark lasts while it is
// heard. Each page says again what its agent is doing in every conversation it has open
// (`still_here`), and a mark not heard again within MARK_TTL_MS fades, so a crashed tab's
// mark goes even before the server notices its socket is gone.
import { boot, h, listNames, t } from './util.js';

const REANNOUNCE_MS = 10000;
const MARK_TTL_MS = 30000; // three announcements: one lost on the way does not blink the mark

/** Inline SVG constants (trusted markup): an eye for viewing, a pen for replying. */
const ICONS = {
  viewing: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" stroke-width="2"/></svg>',
  replying: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20h4L19 9l-4-4L4 16z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/></svg>',
};

export class ColleagueMarks {
  constructor(app) {
    this.app = app;
    this.marks = new Map(); // ticket id -> Map(agent id -> { name, state, timer })
    window.setInterval(() => this.reannounce(), REANNOUNCE_MS);
  }

  /** A `ticket.colleague` event: a colleague is viewing or replying to a ticket, or left it. */
  onEvent({ ticket_id: ticketId, agent, state }) {
    if (agent.id === boot.me.id) return; // my other tabs are not colleagues
    const marks = this.marks.get(ticketId) || new Map();
    const known = marks.get(agent.id);
    if (known) window.clearTimeout(known.timer);
    if (state === 'left') marks.delete(agent.id);
    else {
      const timer = window.setTimeout(() => this.onEvent({ ticket_id: ticketId, agent, state: 'left' }), MARK_TTL_MS);
      marks.set(agent.id, { name: agent.name, state, timer });
    }
    if (marks.size) this.marks.set(ticketId, marks);
    else this.marks.delete(ticketId);
    // A refresh of what the row shows already changes nothing on it.
    if (!known || state === 'left' || known.state !== state) this.show(ticketId);
  }

  /** Disconnected: what colleagues do is unknown until they are heard again. */
  clear() {
    const ids = [...this.marks.keys()];
    for (const marks of this.marks.values()) for (const mark of marks.values()) window.clearTimeout(mark.timer);
    this.marks.clear();
    ids.forEach((id) => this.show(id));
  }

  /** The row's line: who is replying (the warning), else who is viewing; hidden when nobody. */
  line(ticketId) {
    const all = [...(this.marks.get(ticketId) || new Map()).values()];
    if (!all.length) return h('span', { class: 'row-colleagues', hidden: true });
    const replying = all.filter((m) => m.state === 'replying').map((m) => m.name);
    const state = replying.length ? 'replying' : 'viewing';
    const names = replying.length ? replying : all.map((m) => m.name);
    const icon = h('span', { class: 'row-colleagues-icon' });
    icon.innerHTML = ICONS[state];
    return h('span', { class: `row-colleagues ${state}`, dataset: { state } }, icon,
      h('span', { class: 'row-colleagues-text', text: t(`row_colleagues_${state}`,
        { names: listNames(names), num: names.length }) }));
  }

  /** Put the line in place on the row, without building the row again (its focus stays). */
  show(ticketId) {
    const old = this.app.queue.listEl.querySelector(`[data-ticket-id="${ticketId}"] .row-colleagues`);
    if (old) old.replaceWith(this.line(ticketId));
  }

  /** What my agent is doing in each conversation open here, said again while it lasts. */
  reannounce() {
    const { socket } = this.app;
    if (!socket || !socket.connected) return;
    for (const conv of this.app.conversations.values()) {
      socket.emit('still_here', { ticket_id: conv.id, state: conv.myState() });
    }
  }
}
