// Shared helpers of the inbox page: bootstrap data, translations, JSON requests, DOM building.
// Every user-facing string comes from the template's translated dictionary (t()).

const bootEl = document.getElementById('inbox-data');
const stringsEl = document.getElementById('inbox-strings');

export const boot = JSON.parse(bootEl.textContent);
const strings = JSON.parse(stringsEl.textContent);
export const locale = document.documentElement.lang || 'en';

/** Translated string for ``key``; ``%(name)s`` placeholders are filled from ``params``. */
let pluralRules;
try { pluralRules = new Intl.PluralRules(document.documentElement.lang || 'en'); } catch (e) { pluralRules = new Intl.PluralRules('en'); }

/** The string ``key`` with ``%(name)s`` filled from ``params``. A counted string is an object
 * of CLDR plural categories (helpdesk.i18n.plural_forms): ``params.num`` picks the form. */
export function t(key, params) {
  let s = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
  if (s && typeof s === 'object') s = s[pluralRules.select(Number(params?.num ?? 0))] ?? s.other ?? key;
  if (params) s = s.replace(/%\((\w+)\)s/g, (_, k) => (params[k] ?? ''));
  return s;
}

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || '';

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** JSON request with the session cookie and the CSRF header; rejects with ApiError. */
export async function request(method, url, body, { form = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken;
  let payload;
  if (form) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError(t('network_error'), 0, null);
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (err) { json = null; }
  if (!res.ok) {
    let message = json && json.message ? json.message : t('request_failed');
    const errors = json && json.errors;
    if (errors && res.status === 422) {
      const first = Object.values(errors).flat()[0];
      if (typeof first === 'string') message = first;
    }
    throw new ApiError(message, res.status, json);
  }
  return json;
}

export const api = {
  get: (url) => request('GET', url),
  post: (url, body) => request('POST', url, body === undefined ? {} : body),
  patch: (url, body) => request('PATCH', url, body),
  put: (url, body) => request('PUT', url, body),
  upload: (url, formData) => request('POST', url, formData, { form: true }),
};

/** Build an element: h('button', {class: 'x', onclick: fn, 'aria-label': '…'}, 'text', child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Icons are inline SVG constants (trusted markup; never built from data). */
const ICONS = {
  chat: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16v12H8l-4 4z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/></svg>',
  email: '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="3" y="5" width="18" height="14" rx="2" fill="none" stroke="currentColor" stroke-width="2"/><path d="M3 7l9 6 9-6" fill="none" stroke="currentColor" stroke-width="2"/></svg>',
  form: '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="5" y="3" width="14" height="18" rx="2" fill="none" stroke="currentColor" stroke-width="2"/><path d="M8 8h8M8 12h8M8 16h5" stroke="currentColor" stroke-width="2"/></svg>',
  api: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 7l-5 5 5 5M16 7l5 5-5 5" fill="none" stroke="currentColor" stroke-width="2"/></svg>',
};

export function channelIcon(channel) {
  const span = h('span', { class: `ch-icon ch-${channel}`, role: 'img', 'aria-label': t(`channel_${channel}`),
    title: t(`channel_${channel}`) });
  span.innerHTML = ICONS[channel] || ICONS.api;
  return span;
}

/** "Ben", "Ben and Ada", "Ben, Ada and Li" in the page's language. */
export function listNames(names) {
  return Intl.ListFormat ? new Intl.ListFormat(locale, { type: 'conjunction' }).format(names) : names.join(', ');
}

const narrow = {};
function unitFormat(unit) {
  if (!narrow[unit]) {
    narrow[unit] = new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'narrow' });
  }
  return narrow[unit];
}

/** Compact elapsed time since ``iso`` ("5m", "3h", "2d"), locale-formatted. */
export function elapsed(iso, now = Date.now()) {
  if (!iso) return '';
  const secs = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (secs < 60) return unitFormat('second').format(Math.floor(secs));
  if (secs < 3600) return unitFormat('minute').format(Math.floor(secs / 60));
  if (secs < 86400) return unitFormat('hour').format(Math.floor(secs / 3600));
  return unitFormat('day').format(Math.floor(secs / 86400));
}

const timeFmt = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d);
}

export function fmtDateTime(iso) {
  return iso ? dateTimeFmt.format(new Date(iso)) : '';
}

export function fmtPrice(price, currency) {
  if (price === null || price === undefined || price === '') return '';
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency: currency || 'USD' }).format(Number(price));
  } catch (err) {
    return `${price} ${currency || ''}`.trim();
  }
}

/** Only http(s) and same-site relative links are ever put into an href or src. */
export function safeUrl(url) {
  if (typeof url !== 'string' || !url) return null;
  if (/^https?:\/\//i.test(url)) return url;
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  return null;
}

export function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, '');
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function statusLabel(status) {
  return t(`status_${status}`);
}

/** Announce ``text`` to screen readers through the page's polite live region. */
export function announce(text) {
  const live = document.getElementById('live-region');
  if (!live) return;
  live.textContent = '';
  window.setTimeout(() => { live.textContent = text; }, 50);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
}
