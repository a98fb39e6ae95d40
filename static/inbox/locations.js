// The admins' page of a store's locations: the list (edit, deactivate, take visits again) and
// one form to add or edit a location, with opening hours per weekday as a list of intervals.
// Writes go through /api/v1/stores/<id>/locations; a refusal is shown next to its field and
// the admin's input stays in the form.
import { api, boot, h, locale, request, t } from './util.js';

const DAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const FIELDS = ['name', 'address', 'timezone', 'opening_hours', 'appointment_minutes', 'email'];

/** The weekday's full name in the page's language (2024-01-01 was a Monday). */
function dayName(index) {
  try {
    return new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC' })
      .format(new Date(Date.UTC(2024, 0, 1 + index)));
  } catch (err) {
    return t(`day_${DAY_KEYS[index]}`);
  }
}

class LocationsPage {
  constructor() {
    this.storeId = boot.store_id;
    this.locations = boot.locations || [];
    this.editing = null;
    this.form = document.getElementById('loc-form');
    this.list = document.getElementById('loc-list');
    this.status = document.getElementById('loc-status');
    this.days = document.getElementById('loc-days');
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
    this.form.querySelector('[data-act="new"]').addEventListener('click', () => this.startNew());
    this.renderList();
    this.startNew(false);
  }

  base() {
    return `/api/v1/stores/${this.storeId}/locations`;
  }

  renderList() {
    if (!this.locations.length) {
      this.list.replaceChildren(h('li', { class: 'muted', text: t('loc_none') }));
      return;
    }
    this.list.replaceChildren(...this.locations.map((loc) => {
      const hours = DAY_KEYS.map((d, i) => [d, i]).filter(([d]) => (loc.opening_hours[d] || []).length)
        .map(([d, i]) => `${dayName(i)} ${loc.opening_hours[d].map(([o, c]) => `${o}–${c}`).join(', ')}`);
      return h('li', { class: `appt-item loc-item${loc.active ? '' : ' inactive'}`, dataset: { locationId: loc.id } },
        h('p', {},
          h('strong', { text: loc.name }),
          loc.active ? null : h('span', { class: 'status-pill status-closed', text: ` ${t('loc_inactive')}` })),
        loc.address ? h('p', { class: 'muted', text: loc.address }) : null,
        h('p', { class: 'small', text: `${loc.timezone} · ${t('loc_minutes', { minutes: loc.appointment_minutes })}` }),
        h('p', { class: 'small muted', text: hours.join(' · ') || t('appt_closed') }),
        h('p', { class: 'appt-actions' },
          h('button', { type: 'button', text: t('edit'), 'aria-label': t('loc_edit_label', { name: loc.name }),
            onclick: () => this.startEditing(loc) }),
          loc.active
            ? h('button', { type: 'button', class: 'btn-danger', text: t('loc_deactivate'),
              'aria-label': t('loc_deactivate_label', { name: loc.name }), onclick: () => this.deactivate(loc) })
            : h('button', { type: 'button', text: t('loc_reactivate'),
              'aria-label': t('loc_reactivate_label', { name: loc.name }), onclick: () => this.reactivate(loc) })));
    }));
  }

  // ---- the form ----------------------------------------------------------------------------

  startNew(focus = true) {
    this.editing = null;
    this.fill({ name: '', address: '', timezone: 'UTC', appointment_minutes: 30, email: '',
      opening_hours: Object.fromEntries(DAY_KEYS.slice(0, 5).map((d) => [d, [['09:00', '18:00']]])) });
    document.getElementById('loc-form-title').textContent = t('loc_add_title');
    this.form.querySelector('[data-act="submit"]').textContent = t('loc_add');
    this.form.querySelector('[data-act="new"]').hidden = true;
    if (focus) this.form.elements.name.focus();
  }

  startEditing(loc) {
    this.editing = loc;
    this.fill(loc);
    document.getElementById('loc-form-title').textContent = t('loc_edit_title', { name: loc.name });
    this.form.querySelector('[data-act="submit"]').textContent = t('loc_save');
    this.form.querySelector('[data-act="new"]').hidden = false;
    this.form.scrollIntoView({ block: 'start' });
    this.form.elements.name.focus();
  }

  fill(loc) {
    const f = this.form.elements;
    f.name.value = loc.name || '';
    f.address.value = loc.address || '';
    f.timezone.value = loc.timezone || 'UTC';
    f.appointment_minutes.value = String(loc.appointment_minutes ?? 30);
    f.email.value = loc.email || '';
    this.clearErrors();
    this.days.replaceChildren(...DAY_KEYS.map((d, i) => this.dayBlock(d, i, (loc.opening_hours || {})[d] || [])));
  }

  dayBlock(day, index, intervals) {
    const name = dayName(index);
    const list = h('ul', { class: 'loc-intervals', dataset: { day } });
    const block = h('div', { class: 'loc-day', role: 'group', 'aria-labelledby': `loc-day-${day}` },
      h('h3', { id: `loc-day-${day}`, class: 'loc-day-name', text: name }),
      list,
      h('button', { type: 'button', class: 'link-btn', text: t('loc_add_hours'),
        'aria-label': t('loc_add_hours_label', { day: name }),
        onclick: () => {
          const last = list.lastElementChild;
          const opens = last ? last.querySelector('[data-edge="closes"]').value : '09:00';
          this.addInterval(list, name, [opens || '09:00', '']);
          list.lastElementChild.querySelector('input').focus();
        } }));
    intervals.forEach((pair) => this.addInterval(list, name, pair));
    this.renumber(list, name);
    return block;
  }

  addInterval(list, name, [opens, closes]) {
    const row = h('li', { class: 'loc-interval' },
      h('label', { class: 'small' }, h('span', { class: 'loc-edge', text: t('loc_opens') }),
        h('input', { type: 'time', step: 300, value: opens || '', 'data-edge': 'opens' })),
      h('label', { class: 'small' }, h('span', { class: 'loc-edge', text: t('loc_closes') }),
        h('input', { type: 'time', step: 300, value: closes || '', 'data-edge': 'closes' })),
      h('button', { type: 'button', class: 'link-btn', text: t('loc_remove_hours'),
        onclick: () => {
          const next = row.nextElementSibling || row.previousElementSibling;
          row.remove();
          this.renumber(list, name);
          (next ? next.querySelector('button') : list.nextElementSibling).focus();
        } }));
    list.append(row);
    this.renumber(list, name);
  }

  /** Each control says which day and which period it is (screen readers hear it out of context). */
  renumber(list, name) {
    [...list.children].forEach((row, i) => {
      const n = i + 1;
      row.querySelector('[data-edge="opens"]').setAttribute('aria-label', t('loc_opens_label', { day: name, n }));
      row.querySelector('[data-edge="closes"]').setAttribute('aria-label', t('loc_closes_label', { day: name, n }));
      row.querySelector('button').setAttribute('aria-label', t('loc_remove_hours_label', { day: name, n }));
    });
  }

  values() {
    const f = this.form.elements;
    const hours = {};
    this.days.querySelectorAll('.loc-intervals').forEach((list) => {
      hours[list.dataset.day] = [...list.children].map((row) => [
        row.querySelector('[data-edge="opens"]').value, row.querySelector('[data-edge="closes"]').value]);
    });
    const minutes = Number(f.appointment_minutes.value);
    return {
      name: f.name.value.trim(),
      address: f.address.value.trim(),
      timezone: f.timezone.value.trim(),
      opening_hours: hours,
      // A non-number is sent as typed so the server names the field.
      appointment_minutes: Number.isInteger(minutes) && f.appointment_minutes.value !== '' ? minutes : f.appointment_minutes.value,
      email: f.email.value.trim() || null,
    };
  }

  clearErrors() {
    this.form.querySelectorAll('.error').forEach((el) => { el.hidden = true; el.textContent = ''; });
    this.form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  }

  showErrors(errors, message) {
    let first = null;
    for (const [field, messages] of Object.entries(errors || {})) {
      const known = FIELDS.includes(field);
      const el = document.getElementById(`loc-${known ? field : '_schema'}-error`);
      const text = [].concat(messages).flat().filter((m) => typeof m === 'string');
      el.textContent = text.length ? text.join(' ') : message;
      el.hidden = false;
      const input = known ? (field === 'opening_hours' ? this.days.querySelector('input') : this.form.elements[field]) : null;
      if (input && field !== 'opening_hours') input.setAttribute('aria-invalid', 'true');
      if (!first) first = field === 'opening_hours' ? el : input;
    }
    if (!first) {
      const el = document.getElementById('loc-_schema-error');
      el.textContent = message;
      el.hidden = false;
      first = el;
    }
    if (first.tabIndex < 0 && !/^(INPUT|TEXTAREA|SELECT)$/.test(first.tagName)) first.tabIndex = -1;
    first.focus();
  }

  async submit() {
    this.clearErrors();
    const body = this.values();
    const button = this.form.querySelector('[data-act="submit"]');
    button.disabled = true;
    try {
      let saved;
      if (this.editing) {
        saved = await api.patch(`${this.base()}/${this.editing.id}`, body);
        this.locations = this.locations.map((l) => (l.id === saved.id ? saved : l));
        this.say(t('loc_saved', { name: saved.name }));
      } else {
        saved = await api.post(this.base(), body);
        this.locations = [...this.locations, saved];
        this.say(t('loc_added', { name: saved.name }));
      }
      this.renderList();
      this.startNew(false);
    } catch (err) {
      this.showErrors(err.body && err.body.errors, err.message);
    } finally {
      button.disabled = false;
    }
  }

  async deactivate(loc) {
    if (!window.confirm(t('loc_deactivate_confirm', { name: loc.name }))) return;
    try {
      await request('DELETE', `${this.base()}/${loc.id}`);
      this.locations = this.locations.map((l) => (l.id === loc.id ? { ...l, active: false } : l));
      this.renderList();
      this.say(t('loc_deactivated', { name: loc.name }));
    } catch (err) {
      this.say(err.message);
    }
  }

  async reactivate(loc) {
    try {
      const saved = await api.patch(`${this.base()}/${loc.id}`, { active: true });
      this.locations = this.locations.map((l) => (l.id === saved.id ? saved : l));
      this.renderList();
      this.say(t('loc_reactivated', { name: saved.name }));
    } catch (err) {
      this.say(err.message);
    }
  }

  say(text) {
    this.status.textContent = text;
  }
}

if (document.getElementById('loc-form')) new LocationsPage();
