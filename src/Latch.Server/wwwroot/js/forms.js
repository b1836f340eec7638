import { h } from './dom.js';
import { formatDateTime, fromUnix, relativeTime, unixFromDateInput, unixInDays } from './format.js';

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

/** A labelled input (or textarea) with a hint and an error slot next to it. */
export function textField({ name, label, value = '', hint, type = 'text', multiline = false, required = false, attrs = {} }) {
  const id = nextId(name);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const control = multiline
    ? h('textarea', { id, name, rows: 3, spellcheck: 'false', autocomplete: 'off', ...attrs })
    : h('input', { id, name, type, autocomplete: 'off', spellcheck: 'false', ...attrs });
  control.value = value ?? '';
  if (required) control.required = true;
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const field = h('div', { class: 'field' },
    h('label', { for: id, text: label }),
    control,
    hint ? h('p', { id: hintId, class: 'hint', text: hint }) : null,
    h('p', { id: errorId, class: 'field-error', dataset: { errorFor: name, label } }),
  );
  return { field, control };
}

/** Parses free entry: commas or whitespace between entries. */
const parseList = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

/**
 * A choice of existing names (checkboxes) with free entry for others; empty means "all".
 * Returns { field, value() }.
 */
export function tagPicker({ name, legend, options, selected = [], allLabel, otherLabel, hint }) {
  const known = new Set(options.map((o) => o.value));
  const chosen = new Set(selected);
  const errorId = nextId(`${name}-error`);
  const boxes = options.map((option) => {
    const box = h('input', { type: 'checkbox', value: option.value });
    box.checked = chosen.has(option.value);
    return h('label', { class: 'choice' }, box, h('span', { class: 'mono', text: option.value }), option.note ? h('span', { class: 'muted', text: option.note }) : null);
  });
  const otherId = nextId(`${name}-other`);
  const other = h('input', { id: otherId, name, type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': errorId });
  other.value = selected.filter((s) => !known.has(s)).join(', ');
  const summary = h('p', { class: 'hint' });
  const value = () => {
    const list = boxes.map((b) => b.querySelector('input')).filter((b) => b.checked).map((b) => b.value);
    for (const entry of parseList(other.value)) if (!list.includes(entry)) list.push(entry);
    return list;
  };
  const update = () => {
    const list = value();
    summary.textContent = list.length === 0 ? `${allLabel} (nothing chosen)` : `Only: ${list.join(', ')}`;
  };
  const field = h('fieldset', { class: 'stack', oninput: update, onchange: update },
    h('legend', { text: legend }),
    hint ? h('p', { class: 'hint', text: hint }) : null,
    boxes.length ? h('div', { class: 'choice-row' }, boxes) : h('p', { class: 'hint', text: 'None defined yet: type names below.' }),
    h('div', { class: 'field' }, h('label', { for: otherId, text: otherLabel }), other),
    summary,
    h('p', { id: errorId, class: 'field-error', dataset: { errorFor: name, label: legend } }),
  );
  update();
  return { field, value };
}

/**
 * Expiry: keep (edits only), never, on a date, or in N days. value() → { set, expires_at } or throws a message.
 */
export function expiryPicker({ current = null, allowKeep = false, legend = 'Expiry' }) {
  const group = nextId('expiry');
  const errorId = `${group}-error`;
  const radio = (mode, text, checked) => {
    const input = h('input', { type: 'radio', name: group, value: mode });
    input.checked = checked;
    return h('label', { class: 'choice' }, input, text);
  };
  const currentText = current ? `Keep: ${formatDateTime(fromUnix(current))}` : 'Keep: never expires';
  const dateId = nextId('expiry-date');
  const daysId = nextId('expiry-days');
  const date = h('input', { id: dateId, type: 'date', name: 'expires_at', 'aria-describedby': errorId });
  const days = h('input', { id: daysId, type: 'number', min: '1', max: '36500', step: '1', name: 'expires_at', 'aria-describedby': errorId });
  const preview = h('p', { class: 'hint' });
  const fieldset = h('fieldset', {},
    h('legend', { text: legend }),
    h('div', { class: 'choice-row' },
      allowKeep ? radio('keep', currentText, true) : null,
      radio('never', 'Never', !allowKeep),
      radio('date', 'On a date', false),
      radio('days', 'In a number of days', false)),
    h('div', { class: 'inline-inputs' },
      h('label', { for: dateId, text: 'Date' }), date,
      h('label', { for: daysId, text: 'Days from now' }), days),
    preview,
    h('p', { id: errorId, class: 'field-error', dataset: { errorFor: 'expires_at', label: legend } }),
  );
  const mode = () => fieldset.querySelector(`input[name="${group}"]:checked`)?.value ?? 'never';
  const compute = () => {
    switch (mode()) {
      case 'keep': return { set: false };
      case 'never': return { set: true, expires_at: null };
      case 'date': {
        const seconds = unixFromDateInput(date.value);
        if (seconds === null) throw new Error('Choose a date.');
        return { set: true, expires_at: seconds };
      }
      default: {
        const n = Number(days.value);
        if (!Number.isInteger(n) || n < 1) throw new Error('Enter a whole number of days (1 or more).');
        return { set: true, expires_at: unixInDays(n) };
      }
    }
  };
  const update = () => {
    date.disabled = mode() !== 'date';
    days.disabled = mode() !== 'days';
    try {
      const result = compute();
      preview.textContent = !result.set ? '' : result.expires_at === null ? 'The secret will not expire.'
        : `Expires ${formatDateTime(fromUnix(result.expires_at))} (${relativeTime(fromUnix(result.expires_at))}).`;
    } catch {
      preview.textContent = '';
    }
  };
  fieldset.addEventListener('input', update);
  fieldset.addEventListener('change', (event) => {
    update();
    if (event.target.type === 'radio') {
      if (event.target.value === 'date') date.focus();
      if (event.target.value === 'days') days.focus();
    }
  });
  update();
  return { field: fieldset, value: compute };
}

/** A 64-character random value made in the browser (for rotation; creation lets the server generate). */
export function randomValue(length = 64) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const out = [];
  const bytes = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      if (b < 248 && out.length < length) out.push(alphabet[b % 62]);
    }
  }
  return out.join('');
}

/** A group of radios choosing how the value is given: typed or generated. Returns { field, generated(), input }. */
export function valueChooser({ label = 'Value', generateText }) {
  const group = nextId('value-mode');
  const typed = h('input', { type: 'radio', name: group, value: 'typed' });
  typed.checked = true;
  const generate = h('input', { type: 'radio', name: group, value: 'generate' });
  const { field: valueField, control } = textField({ name: 'value', label, multiline: true, hint: 'Kept only in this form; never shown again after it is saved.' });
  const fieldset = h('fieldset', { class: 'stack' },
    h('legend', { text: 'Secret value' }),
    h('div', { class: 'choice-row' },
      h('label', { class: 'choice' }, typed, 'Type a value'),
      h('label', { class: 'choice' }, generate, generateText)),
    valueField);
  fieldset.addEventListener('change', () => {
    const isGenerated = generate.checked;
    valueField.hidden = isGenerated;
    control.disabled = isGenerated;
  });
  return { field: fieldset, generated: () => generate.checked, input: control };
}
