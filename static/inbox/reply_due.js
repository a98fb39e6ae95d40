// Reply targets (helpdesk.actions.service_levels): the "Reply due in 25 min" / "Overdue by
// 1 h 5 min" marks on queue rows and on the open conversation. Each is a <time> with the due
// moment; one timer repaints them all, so they count down without asking the server, and a
// ticket.updated event brings a ticket's new due time (or none, once it is answered). Amber
// when less than a quarter of the target is left, red once overdue; the words say as much.
import { boot, fmtDateTime, h, t } from './util.js';

const MINUTE = 60000;
const TICK_MS = 15000;

/** The minutes of the target ``ticket``'s due time was set from (0: unknown). */
function targetMinutes(ticket) {
  const store = boot.stores.find((s) => s.id === ticket.store_id);
  const targets = store && store.reply_targets;
  // The keys the server's targets_by_channel gives: a chat left offline follows email's.
  const target = targets && targets[ticket.channel === 'chat' && ticket.offline ? 'chat_offline' : ticket.channel];
  // A first reply is due until an agent has answered once; every next one after that.
  return target ? target[ticket.first_response_at ? 'next' : 'first'] : 0;
}

/** "25 min", "1 h 5 min", "2 d 3 h" in whole minutes, never "0 min": the time left is rounded
 * up (the last minute still says 1), the time overdue down (``up`` false). */
export function timeSpan(ms, up = true) {
  const minutes = Math.max(1, up ? Math.ceil(ms / MINUTE) : Math.floor(ms / MINUTE));
  if (minutes < 60) return t('duration_min', { minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return rest ? t('duration_h_min', { hours, minutes: rest }) : t('duration_h', { hours });
  }
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest ? t('duration_d_h', { days, hours: rest }) : t('duration_d', { days });
}

function paint(el, now = Date.now()) {
  const left = Date.parse(el.dateTime) - now;
  const target = Number(el.dataset.target) || 0;
  const over = left <= 0;
  el.classList.toggle('due-over', over);
  el.classList.toggle('due-soon', !over && target > 0 && left < (target * MINUTE) / 4);
  el.textContent = over ? t('reply_overdue_by', { time: timeSpan(-left, false) })
    : t('reply_due_in', { time: timeSpan(left) });
}

/** The mark for ``ticket`` (a <time>), or null when no reply is due. */
export function replyDueMark(ticket, className = '') {
  if (!ticket.reply_due_at) return null;
  const el = h('time', {
    class: `reply-due ${className}`.trim(), datetime: ticket.reply_due_at,
    title: t('reply_due_title', { when: fmtDateTime(ticket.reply_due_at) }),
    dataset: { target: targetMinutes(ticket) },
  });
  paint(el);
  return el;
}

/** Is the reply of ``ticket`` overdue now? (the queue's Overdue view) */
export function isOverdue(ticket, now = Date.now()) {
  return Boolean(ticket.reply_due_at) && Date.parse(ticket.reply_due_at) <= now;
}

/** Soonest due first, then those with nothing due, oldest first (the server's sort=due). */
export function dueFirst(a, b) {
  if (a.reply_due_at && b.reply_due_at) {
    const diff = Date.parse(a.reply_due_at) - Date.parse(b.reply_due_at);
    if (diff) return diff;
  } else if (a.reply_due_at || b.reply_due_at) {
    return a.reply_due_at ? -1 : 1;
  }
  return a.id - b.id;
}

window.setInterval(() => {
  const now = Date.now();
  for (const el of document.querySelectorAll('time.reply-due')) paint(el, now);
}, TICK_MS);
