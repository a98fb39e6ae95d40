// The context panel next to a conversation: contact, live visitor session, attributes set by
// the shop, previous conversations on every channel, orders (hidden while there are none).
import { Privacy } from './privacy.js';
import {
  api, boot, channelIcon, elapsed, fmtDateTime, fmtPrice, h, safeUrl, statusLabel, t,
} from './util.js';

function localTime(timezone) {
  if (!timezone) return '';
  try {
    return new Intl.DateTimeFormat(document.documentElement.lang || 'en', {
      hour: '2-digit', minute: '2-digit', timeZone: timezone, timeZoneName: 'short',
    }).format(new Date());
  } catch (err) {
    return '';
  }
}

function section(title, ...content) {
  return h('section', { class: 'ctx-section' }, h('h3', { text: title }), ...content);
}

function dl(pairs) {
  const rows = pairs.filter(([, v]) => v !== null && v !== undefined && v !== '');
  if (!rows.length) return null;
  return h('dl', { class: 'ctx-dl' }, rows.flatMap(([k, v]) => [h('dt', { text: k }),
    h('dd', {}, v instanceof Node ? v : String(v))]));
}

// How the customer rated the conversation (in the chat widget, or from the email asking
// them): the stars, the reasons they ticked and what they wrote, shown as text.
function ratingSection(ticket) {
  const labels = boot.rating_reasons || {};
  const reasons = (ticket.rating_reasons || []).map((r) => labels[r] || r).join(', ');
  const stars = h('p', { class: 'ctx-stars', role: 'img', 'aria-label': t('rating_stars', { num: ticket.rating }) },
    '★'.repeat(ticket.rating) + '☆'.repeat(5 - ticket.rating));
  return section(t('rating'), stars, dl([
    [t('rating_reasons_label'), reasons],
    [t('rating_comment_label'), ticket.rating_comment],
  ]));
}

export class ContextPanel {
  constructor(app) {
    this.app = app;
    this.el = document.getElementById('context-body');
    this.conv = null;
    this.privacy = new Privacy(app); // export and erasure on request (admins)
    window.setInterval(() => this.tick(), 30000);
  }

  clear() {
    this.conv = null;
    this.el.replaceChildren(h('p', { class: 'muted', text: t('context_empty') }));
  }

  render(conv) {
    this.conv = conv;
    const ctx = conv.context;
    if (!ctx) {
      this.el.replaceChildren(h('p', { class: 'muted', text: t('loading') }));
      return;
    }
    const contact = ctx.contact;
    const parts = [];
    const blockBtn = h('button', {
      type: 'button', class: contact.blocked ? 'btn-secondary' : 'btn-danger',
      text: contact.blocked ? t('unblock_shopper') : t('block_shopper'),
      onclick: () => this.toggleBlock(contact),
    });
    parts.push(section(t('contact'),
      h('p', { class: 'ctx-name' }, h('strong', { text: contact.display_name || '' }),
        contact.blocked ? h('span', { class: 'flag flag-blocked', text: t('blocked') }) : null),
      dl([
        [t('email'), contact.email],
        [t('phone'), contact.phone],
        [t('tags'), (ctx.tags || []).join(', ')],
      ]),
      contact.notes ? h('p', { class: 'ctx-notes' }, h('span', { class: 'label', text: `${t('notes')}: ` }), contact.notes)
        : null,
      // An erased customer's placeholder is not a person to block (the server refuses edits).
      contact.platform_ids && contact.platform_ids.erased ? null : blockBtn));
    const privacy = this.privacy.section(contact);
    if (privacy) parts.push(privacy);
    const ticket = conv.ticket || ctx.ticket;
    if (ticket && ticket.rating) parts.push(ratingSection(ticket));

    const v = ctx.visitor;
    if (v) {
      const current = safeUrl(v.current_url);
      const pages = (v.pages || []).map((p) => {
        const href = safeUrl(p.url);
        return h('li', {}, href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: p.title || p.url })
          : h('span', { text: p.title || p.url }), ' ', h('time', { class: 'muted', datetime: p.viewed_at,
          title: fmtDateTime(p.viewed_at), text: elapsed(p.viewed_at) }));
      });
      parts.push(section(t('visitor_session'),
        dl([
          [t('current_page'), current ? h('a', { href: current, target: '_blank', rel: 'noopener noreferrer',
            text: v.current_title || v.current_url }) : (v.current_title || '')],
          [t('local_time'), localTime(v.timezone) ? h('span', { class: 'ctx-localtime', dataset: { tz: v.timezone },
            text: localTime(v.timezone) }) : null],
          [t('browser'), [v.browser, v.os].filter(Boolean).join(' · ')],
          [t('device'), v.device],
          [t('last_seen'), v.last_seen_at ? fmtDateTime(v.last_seen_at) : ''],
        ]),
        pages.length ? h('h4', { text: t('pages_viewed', { count: v.page_count }) }) : null,
        pages.length ? h('ol', { class: 'ctx-pages' }, pages) : null));
    }

    const attrs = Object.entries(ctx.attributes || {});
    if (attrs.length) parts.push(section(t('attributes'), dl(attrs.map(([k, val]) => [k, String(val)]))));

    if (ctx.orders && ctx.orders.length) {
      parts.push(section(t('orders'), h('ul', { class: 'ctx-orders' }, ctx.orders.map((o) => {
        const href = safeUrl(o.url);
        const label = `#${o.number || o.platform_id}`;
        const state = [t(`order_${o.status}`), o.financial_status, o.fulfillment_status].filter(Boolean).join(' · ');
        return h('li', {},
          h('div', { class: 'order-top' },
            href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: label }) : h('strong', { text: label }),
            h('span', { class: 'order-total', text: fmtPrice(o.total, o.currency) })),
          h('div', { class: 'muted small', text: `${fmtDateTime(o.placed_at)} · ${state}` }),
          (o.lines || []).length ? h('ul', { class: 'order-lines' }, o.lines.map((line) => h('li', {
            text: `${line.quantity} × ${line.title}`,
          }))) : null);
      }))));
    }

    const prev = (ctx.previous || []).map((p) => h('li', {}, h('button', {
      type: 'button', class: 'prev-btn', onclick: () => this.app.openTicket(p.id),
    }, channelIcon(p.channel), h('span', { class: 'prev-main' },
      h('span', { text: p.subject || p.last_message_preview || `#${p.id}` }),
      h('span', { class: 'muted', text: `#${p.id} · ${statusLabel(p.status)} · ${fmtDateTime(p.last_activity_at)}` })))));
    parts.push(section(t('previous_conversations'),
      prev.length ? h('ul', { class: 'ctx-prev' }, prev) : h('p', { class: 'muted', text: t('none_yet') })));
    this.el.replaceChildren(...parts);
  }

  tick() {
    for (const el of this.el.querySelectorAll('.ctx-localtime')) el.textContent = localTime(el.dataset.tz);
  }

  async toggleBlock(contact) {
    const blocking = !contact.blocked;
    if (blocking && !window.confirm(t('block_confirm', { name: contact.display_name || '' }))) return;
    try {
      const updated = await api.patch(`/api/v1/contacts/${contact.id}`, { blocked: blocking });
      this.app.contactUpdated(updated);
      this.app.toast(blocking ? t('shopper_blocked') : t('shopper_unblocked'));
    } catch (err) {
      this.app.toast(err.message, 'error');
    }
  }

  /** Live data: visitor.updated / contact.updated for the shown conversation. */
  visitorUpdated(visitor) {
    for (const conv of this.app.conversations.values()) {
      const ctx = conv.context;
      if (ctx && ctx.visitor && ctx.visitor.id === visitor.id) {
        const known = ctx.visitor;
        const moved = visitor.current_url && visitor.current_url !== known.current_url;
        ctx.visitor = { ...known, ...visitor };
        ctx.attributes = visitor.attributes || ctx.attributes;
        if (moved) {
          ctx.visitor.pages = [{ url: visitor.current_url, title: visitor.current_title || '',
            viewed_at: visitor.last_seen_at }, ...(known.pages || [])].slice(0, 20);
          ctx.visitor.page_count = (known.page_count || 0) + 1;
        }
        if (this.conv === conv) this.render(conv);
      }
    }
  }

  contactUpdated(contact) {
    for (const conv of this.app.conversations.values()) {
      if (conv.context && conv.context.contact.id === contact.id) {
        conv.context.contact = contact;
        if (this.conv === conv) this.render(conv);
      }
    }
  }
}
