import { api, enc, ApiError } from './api.js';
import { h, copyIcon, copyText, announce, showFieldErrors, clearFieldErrors, fillSelect } from './dom.js';
import { filterAuditBySecret } from './audit.js';
import { openDialog } from './dialog.js';
import { timeElement, fromUnix, fromIso } from './format.js';
import { textField, tagPicker, expiryPicker, valueChooser, randomValue } from './forms.js';
import { catalog } from './catalog.js';

const PAGE_SIZE = 50;
const EXPIRING_WITHIN = 7 * 86400;
const REVEAL_SECONDS = 30;

const state = { q: '', status: '', app: '', env: '', cursors: [null], page: 0, loading: 0 };
const $ = (id) => document.getElementById(id);

const reference = (key) => `$Token{${key}}`;

export function initSecrets() {
  const filters = $('secret-filters');
  let searchTimer;
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    applyFilters();
  });
  $('filter-q').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(applyFilters, 250);
  });
  for (const id of ['filter-status', 'filter-app', 'filter-env']) $(id).addEventListener('change', applyFilters);
  $('secrets-next').addEventListener('click', () => {
    const next = $('secrets-next').dataset.cursor;
    if (!next) return;
    state.cursors[state.page + 1] = next;
    state.page += 1;
    loadSecrets();
  });
  $('secrets-prev').addEventListener('click', () => {
    if (state.page === 0) return;
    state.page -= 1;
    loadSecrets();
  });
  $('new-secret').addEventListener('click', () => openCreate());
}

function applyFilters() {
  state.q = $('filter-q').value.trim();
  state.status = $('filter-status').value;
  state.app = $('filter-app').value;
  state.env = $('filter-env').value;
  state.cursors = [null];
  state.page = 0;
  loadSecrets();
}

/** Fills the app and environment filters from what exists. */
export function fillSecretFilters() {
  fillSelect($('filter-app'), 'Any app', catalog.apps.map((a) => a.access_tag));
  fillSelect($('filter-env'), 'Any environment', catalog.envs);
}


export async function loadSecrets() {
  const ticket = ++state.loading;
  const table = $('secrets-table');
  table.setAttribute('aria-busy', 'true');
  const query = { limit: PAGE_SIZE, cursor: state.cursors[state.page], q: state.q, app: state.app, env: state.env };
  if (state.status === 'expiring') query.expiring_within = EXPIRING_WITHIN;
  else query.status = state.status;
  try {
    const page = await api('GET', '/v1/secrets', { query });
    if (ticket !== state.loading) return;
    $('secrets-error').hidden = true;
    renderRows(page.items);
    $('secrets-next').dataset.cursor = page.next_cursor ?? '';
    $('secrets-next').disabled = !page.next_cursor;
    $('secrets-prev').disabled = state.page === 0;
    const filtered = state.q || state.status || state.app || state.env;
    $('secrets-page').textContent = page.items.length === 0 ? '' : `Page ${state.page + 1} · ${page.items.length} shown`;
    $('secrets-empty').hidden = page.items.length > 0;
    $('secrets-empty').textContent = filtered ? 'No secret matches these filters.' : 'No secrets yet. Create the first one with “New secret”.';
  } catch (error) {
    if (ticket !== state.loading) return;
    showBanner($('secrets-error'), error);
  } finally {
    if (ticket === state.loading) table.removeAttribute('aria-busy');
  }
}

function showBanner(element, error) {
  const fields = error instanceof ApiError ? Object.entries(error.fieldErrors).map(([f, m]) => `${f} ${m.join(', ')}`) : [];
  element.textContent = [error.message, ...fields].join(' — ');
  element.hidden = false;
}

function statusBadges(secret) {
  const label = { active: 'Active', expired: 'Expired', revoked: 'Revoked' }[secret.status] ?? secret.status;
  return h('span', { class: 'status-cell' },
    h('span', { class: `badge ${secret.status}`, text: label }),
    secret.expiring_soon ? h('span', { class: 'badge soon', text: 'Expiring soon' }) : null);
}

function tagList(values, allText) {
  if (!values?.length) return h('span', { class: 'all', text: allText });
  return h('span', { class: 'tags' }, values.map((v) => h('span', { class: 'tag', text: v })));
}

export function copyButton(key) {
  const ref = reference(key);
  return h('button', {
    type: 'button',
    class: 'icon-button',
    'aria-label': `Copy ${ref}`,
    title: `Copy ${ref}`,
    onclick: () => copyText(ref, `Copied: ${ref}`),
  }, copyIcon());
}

function renderRows(items) {
  const rows = items.map((secret) => {
    const cell = (label, ...content) => h('td', { dataset: { label } }, ...content);
    return h('tr', { dataset: { key: secret.key } },
      h('td', { class: 'primary-cell', dataset: { label: 'Key' } },
        h('div', { class: 'key-cell' },
          h('button', { type: 'button', class: 'link-button', text: secret.key, 'aria-haspopup': 'dialog', title: `Details of ${secret.key}`, onclick: () => openDetails(secret.key) }),
          copyButton(secret.key)),
        secret.token_type ? h('span', { class: 'sub', text: secret.token_type }) : null),
      cell('Description', secret.description ? secret.description : h('span', { class: 'muted', text: '—' })),
      cell('Status', statusBadges(secret)),
      cell('Scope', tagList(secret.scope, 'All apps')),
      cell('Environments', tagList(secret.envs, 'All environments')),
      cell('Expires', timeElement(fromUnix(secret.expires_at), { empty: 'Never' })),
      cell('Version', `v${secret.version}`),
      cell('Last used', timeElement(fromIso(secret.last_used_at), { empty: 'Never' })),
      h('td', { class: 'actions-cell' }, rowActions(secret)));
  });
  const body = $('secrets-body');
  // Re-rendering must not drop the keyboard focus: keep it on the same control, or on that row's name.
  const active = document.activeElement;
  const focused = body.contains(active) ? { label: active.getAttribute('aria-label') ?? active.textContent, key: active.closest('tr')?.dataset.key } : null;
  body.replaceChildren(...rows);
  if (focused) {
    const buttons = [...body.querySelectorAll('button')];
    const same = buttons.find((b) => (b.getAttribute('aria-label') ?? b.textContent) === focused.label)
      ?? body.querySelector(`tr[data-key="${CSS.escape(focused.key ?? '')}"] .link-button`);
    (same ?? $('new-secret')).focus();
  }
}

function rowActions(secret) {
  const button = (text, handler, extra = 'small') => h('button', { type: 'button', class: `button ${extra}`, text, 'aria-label': `${text} ${secret.key}`, 'aria-haspopup': 'dialog', onclick: handler });
  return h('div', { class: 'actions' },
    button('Edit', () => openEdit(secret)),
    button('Rotate', () => openRotate(secret)),
    secret.status === 'revoked' ? button('Restore', () => openRestore(secret)) : button('Revoke', () => openRevoke(secret)),
    button('Delete', () => openDelete(secret)));
}

// ---- forms --------------------------------------------------------------------------------------------------

function scopePicker(selected) {
  return tagPicker({
    name: 'scope',
    legend: 'Scope',
    options: catalog.apps.map((a) => ({ value: a.access_tag, note: a.name && a.name !== a.access_tag ? a.name : '' })),
    selected,
    allLabel: 'All apps may use it',
    otherLabel: 'Other apps (access tags or product_tag:access_tag, comma-separated)',
  });
}

function envPicker(selected) {
  return tagPicker({
    name: 'envs',
    legend: 'Environments',
    options: catalog.envs.map((e) => ({ value: e })),
    selected,
    allLabel: 'All environments may use it',
    otherLabel: 'Other environments (slugs, comma-separated)',
  });
}

function formError() {
  return h('p', { class: 'field-error', role: 'alert', dataset: { errorFor: '$', label: '' } });
}

/** Shows an API error next to the fields it names (or under the form), and focuses the first bad field. */
function showApiError(form, error) {
  const fields = error instanceof ApiError ? error.fieldErrors : {};
  if (Object.keys(fields).length > 0) {
    const first = showFieldErrors(form, fields);
    first?.focus();
    return;
  }
  clearFieldErrors(form);
  const slot = form.querySelector('[data-error-for="$"]');
  slot.textContent = error.message;
}

function busy(button, on) {
  button.disabled = on;
  button.setAttribute('aria-busy', String(on));
}

/** The value shown once: generated by the server (create) or by the browser (rotate). */
function showOnce(title, key, value, note) {
  const code = h('code', { text: value });
  const copy = h('button', { type: 'button', class: 'button small', text: 'Copy value', 'aria-label': 'Copy generated value', onclick: () => copyText(value, 'Copied the generated value') });
  const done = h('button', { type: 'button', class: 'button primary', text: 'Done', onclick: () => dialog.close() });
  const dialog = openDialog({
    title,
    body: h('div', { class: 'stack' },
      h('p', { class: 'once', text: note }),
      h('div', { class: 'field' },
        h('span', { class: 'label', id: 'generated-label', text: `Generated value of ${key}` }),
        h('div', { class: 'secret-value', role: 'group', 'aria-labelledby': 'generated-label' }, code, copy))),
    footer: [done],
    focus: copy,
  });
  code.id = 'generated-value';
}

function openCreate() {
  const formId = 'create-form';
  const key = textField({ name: 'key', label: 'Key', hint: 'Letters, digits and underscores (up to 50), e.g. STRIPE_API_KEY. Referenced as $Token{KEY}.', attrs: { autocapitalize: 'characters' } });
  const value = valueChooser({ generateText: 'Generate a random 64-character value' });
  const description = textField({ name: 'description', label: 'Description' });
  const tokenType = textField({ name: 'token_type', label: 'Type', hint: 'Optional, e.g. api_key or password.' });
  const scope = scopePicker([]);
  const envs = envPicker([]);
  const expiry = expiryPicker({});
  const submit = h('button', { type: 'submit', form: formId, class: 'button primary', text: 'Create secret' });
  const form = h('form', { id: formId, class: 'stack', novalidate: true },
    key.field, value.field, description.field, tokenType.field, scope.field, envs.field, expiry.field, formError());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const body = { key: key.control.value.trim(), scope: scope.value(), envs: envs.value() };
    if (!value.generated()) body.value = value.input.value;
    if (description.control.value.trim()) body.description = description.control.value.trim();
    if (tokenType.control.value.trim()) body.token_type = tokenType.control.value.trim();
    try {
      const e = expiry.value();
      if (e.expires_at !== null) body.expires_at = e.expires_at;
    } catch (problem) {
      showFieldErrors(form, { expires_at: [problem.message] });
      return;
    }
    busy(submit, true);
    try {
      const created = await api('POST', '/v1/secrets', { body });
      loadSecrets();
      if (created.value) {
        showOnce(`Secret ${created.key} created`, created.key, created.value,
          'This generated value is shown this once. Copy it now: Latch will not show it again unless someone with owner or admin rights reveals it.');
      } else {
        dialogClose();
      }
      announce(`Secret ${created.key} created`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        clearFieldErrors(form);
        form.querySelector('[data-error-for="key"]').textContent = error.message;
        key.control.setAttribute('aria-invalid', 'true');
        key.control.focus();
      } else {
        showApiError(form, error);
      }
    } finally {
      busy(submit, false);
    }
  });
  const cancel = h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => dialogClose() });
  openDialog({ title: 'New secret', body: form, footer: [cancel, submit], focus: key.control });
}

function dialogClose() {
  const dlg = document.getElementById('dialog');
  if (dlg.open) dlg.close();
}

function openEdit(secret) {
  const formId = 'edit-form';
  const description = textField({ name: 'description', label: 'Description', value: secret.description ?? '' });
  const tokenType = textField({ name: 'token_type', label: 'Type', value: secret.token_type ?? '' });
  const scope = scopePicker(secret.scope ?? []);
  const envs = envPicker(secret.envs ?? []);
  const expiry = expiryPicker({ current: secret.expires_at, allowKeep: true });
  const submit = h('button', { type: 'submit', form: formId, class: 'button primary', text: 'Save changes' });
  const form = h('form', { id: formId, class: 'stack', novalidate: true },
    description.field, tokenType.field, scope.field, envs.field, expiry.field, formError());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const body = {
      description: description.control.value.trim() || null,
      token_type: tokenType.control.value.trim() || null,
      scope: scope.value(),
      envs: envs.value(),
    };
    try {
      const e = expiry.value();
      if (e.set) body.expires_at = e.expires_at;
    } catch (problem) {
      showFieldErrors(form, { expires_at: [problem.message] });
      return;
    }
    busy(submit, true);
    try {
      await api('PATCH', `/v1/secrets/${enc(secret.key)}`, { body, headers: { 'If-Match': `"${secret.version}"` } });
      dialogClose();
      announce(`Saved ${secret.key}`);
      loadSecrets();
    } catch (error) {
      showApiError(form, error);
    } finally {
      busy(submit, false);
    }
  });
  const cancel = h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => dialogClose() });
  openDialog({ title: `Edit ${secret.key}`, body: form, footer: [cancel, submit] });
}

function openRotate(secret) {
  const formId = 'rotate-form';
  const value = valueChooser({ label: 'New value', generateText: 'Generate a random 64-character value' });
  const expiry = expiryPicker({ current: secret.expires_at, allowKeep: true, legend: 'New expiry' });
  const submit = h('button', { type: 'submit', form: formId, class: 'button primary', text: 'Rotate' });
  const form = h('form', { id: formId, class: 'stack', novalidate: true },
    h('p', { class: 'muted', text: `Rotation makes version ${secret.version + 1}. Every reference to ${reference(secret.key)} uses it at once.` }),
    value.field, expiry.field, formError());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const generated = value.generated() ? randomValue() : null;
    const body = { value: generated ?? value.input.value };
    try {
      const e = expiry.value();
      if (e.set) body.expires_at = e.expires_at;
    } catch (problem) {
      showFieldErrors(form, { expires_at: [problem.message] });
      return;
    }
    busy(submit, true);
    try {
      const updated = await api('PATCH', `/v1/secrets/${enc(secret.key)}`, { body, headers: { 'If-Match': `"${secret.version}"` } });
      loadSecrets();
      if (generated) {
        showOnce(`${secret.key} rotated to version ${updated.version}`, secret.key, generated, 'This generated value is shown this once. Copy it now.');
      } else {
        dialogClose();
      }
      announce(`Rotated ${secret.key} to version ${updated.version}`);
    } catch (error) {
      showApiError(form, error);
    } finally {
      busy(submit, false);
    }
  });
  const cancel = h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => dialogClose() });
  openDialog({ title: `Rotate ${secret.key}`, body: form, footer: [cancel, submit] });
}

/** A dialog that asks the person to type the key before a destructive action. */
function confirmByTyping({ secret, title, text, action, run, done }) {
  const formId = 'confirm-form';
  const confirm = textField({ name: 'confirm', label: `Type ${secret.key} to confirm`, attrs: { autocapitalize: 'off' } });
  const submit = h('button', { type: 'submit', form: formId, class: 'button danger', text: action, disabled: true });
  const form = h('form', { id: formId, class: 'stack', novalidate: true }, h('p', { text }), confirm.field, formError());
  confirm.control.addEventListener('input', () => { submit.disabled = confirm.control.value !== secret.key; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (confirm.control.value !== secret.key) {
      showFieldErrors(form, { confirm: [`must be exactly ${secret.key}`] });
      return;
    }
    busy(submit, true);
    try {
      await run();
      dialogClose();
      announce(done);
      loadSecrets();
    } catch (error) {
      showApiError(form, error);
      busy(submit, false);
    }
  });
  const cancel = h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => dialogClose() });
  openDialog({ title, body: form, footer: [cancel, submit], focus: confirm.control });
}

function openRevoke(secret) {
  confirmByTyping({
    secret,
    title: `Revoke ${secret.key}`,
    text: `Revoking stops every resolution of ${reference(secret.key)} at once. The secret is kept: restoring it or rotating it makes it usable again.`,
    action: 'Revoke secret',
    run: () => api('POST', `/v1/secrets/${enc(secret.key)}/revoke`),
    done: `Revoked ${secret.key}`,
  });
}

function openDelete(secret) {
  confirmByTyping({
    secret,
    title: `Delete ${secret.key}`,
    text: `Deleting removes ${secret.key} and all its versions. Every configuration that references ${reference(secret.key)} will fail with “not found”. This cannot be undone.`,
    action: 'Delete secret',
    run: () => api('DELETE', `/v1/secrets/${enc(secret.key)}`),
    done: `Deleted ${secret.key}`,
  });
}

function openRestore(secret) {
  const submit = h('button', { type: 'button', class: 'button primary', text: 'Restore secret' });
  const error = h('p', { class: 'field-error', role: 'alert' });
  submit.addEventListener('click', async () => {
    busy(submit, true);
    try {
      await api('PATCH', `/v1/secrets/${enc(secret.key)}`, { body: { revoked: false } });
      dialogClose();
      announce(`Restored ${secret.key}`);
      loadSecrets();
    } catch (e) {
      error.textContent = e.message;
      busy(submit, false);
    }
  });
  const cancel = h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => dialogClose() });
  openDialog({
    title: `Restore ${secret.key}`,
    body: h('div', {}, h('p', { text: `Restoring makes ${reference(secret.key)} resolvable again with its current value (version ${secret.version}).` }), error),
    footer: [cancel, submit],
    focus: submit,
  });
}

// ---- details: metadata, reveal, versions, usage ---------------------------------------------------------------

async function openDetails(key) {
  let secret;
  try {
    secret = await api('GET', `/v1/secrets/${enc(key)}`);
  } catch (error) {
    announce(error.message);
    return;
  }
  const row = (label, value) => [h('dt', { text: label }), h('dd', {}, value)];
  const meta = h('dl', { class: 'meta' },
    row('Reference', h('span', { class: 'key-cell' }, h('code', { text: secret.reference }), copyButton(secret.key))),
    row('Description', secret.description || '—'),
    row('Type', secret.token_type || '—'),
    row('Status', statusBadges(secret)),
    row('Scope', tagList(secret.scope, 'All apps')),
    row('Environments', tagList(secret.envs, 'All environments')),
    row('Expires', timeElement(fromUnix(secret.expires_at), { empty: 'Never' })),
    row('Version', `v${secret.version}`),
    row('Created', timeElement(fromIso(secret.created_at))),
    row('Updated', timeElement(fromIso(secret.updated_at))),
    row('Last used', timeElement(fromIso(secret.last_used_at), { empty: 'Never' })));

  const valueArea = h('div', { class: 'stack' });
  const revealSection = h('section', { 'aria-labelledby': 'value-heading' }, h('h3', { id: 'value-heading', text: 'Value' }), valueArea);
  const versionsArea = h('div', {}, h('p', { class: 'muted', text: 'Loading versions…' }));
  const usageArea = h('div', {}, h('p', { class: 'muted', text: 'Loading usage…' }));
  const body = h('div', {},
    meta,
    revealSection,
    h('section', { 'aria-labelledby': 'versions-heading' }, h('h3', { id: 'versions-heading', text: 'Versions' }), versionsArea),
    h('section', { 'aria-labelledby': 'usage-heading' }, h('h3', { id: 'usage-heading', text: 'Usage' }), usageArea));

  let hideTimer = null;
  const hide = () => {
    clearTimeout(hideTimer);
    hideTimer = null;
    valueArea.replaceChildren(revealButton);
  };
  const revealButton = h('button', {
    type: 'button', class: 'button small', text: 'Reveal value', onclick: async () => {
      revealButton.disabled = true;
      try {
        const revealed = await api('GET', `/v1/secrets/${enc(key)}`, { query: { reveal: 'true' } });
        const hideButton = h('button', { type: 'button', class: 'button small', text: 'Hide', onclick: () => { hide(); revealButton.focus(); } });
        const copy = h('button', { type: 'button', class: 'button small', text: 'Copy value', 'aria-label': 'Copy revealed value', onclick: () => copyText(revealed.value, 'Copied the revealed value') });
        valueArea.replaceChildren(
          h('div', { class: 'secret-value', role: 'group', 'aria-label': `Value of ${key}` }, h('code', { id: 'revealed-value', text: revealed.value }), copy, hideButton),
          h('p', { class: 'hint', text: `Revealed (and audited). Hidden again after ${REVEAL_SECONDS} seconds.` }));
        hideTimer = setTimeout(hide, REVEAL_SECONDS * 1000);
        hideButton.focus();
      } catch (error) {
        valueArea.replaceChildren(revealButton, h('p', { class: 'field-error', role: 'alert', text: error.message }));
      } finally {
        revealButton.disabled = false;
      }
    },
  });
  valueArea.append(revealButton);

  const closeButton = h('button', { type: 'button', class: 'button', text: 'Close', onclick: () => dialogClose() });
  const action = (text, handler) => h('button', { type: 'button', class: 'button', text, onclick: handler });
  openDialog({
    title: secret.key,
    body,
    footer: [
      action('Edit', () => openEdit(secret)),
      action('Rotate', () => openRotate(secret)),
      secret.status === 'revoked' ? action('Restore', () => openRestore(secret)) : action('Revoke', () => openRevoke(secret)),
      action('Delete', () => openDelete(secret)),
      action('Audit log', () => {
        dialogClose();
        filterAuditBySecret(key);
        location.hash = '#/audit';
      }),
      closeButton,
    ],
    focus: closeButton,
    closed: () => clearTimeout(hideTimer),
  });

  api('GET', `/v1/secrets/${enc(key)}/versions`).then((versions) => {
    const rows = versions.items.slice().sort((a, b) => b.version - a.version).map((v) => h('tr', {},
      h('td', { text: `v${v.version}` }),
      h('td', {}, timeElement(fromIso(v.created_at))),
      h('td', { text: v.created_by ?? '—' }),
      h('td', {}, v.version === secret.version
        ? h('span', { class: 'muted', text: 'Current' })
        : h('button', { type: 'button', class: 'button small', text: `Roll back to v${v.version}`, onclick: () => confirmRollback(secret, v.version) }))));
    versionsArea.replaceChildren(h('table', { class: 'mini' },
      h('caption', { class: 'visually-hidden', text: `Versions of ${key}` }),
      h('thead', {}, h('tr', {}, ['Version', 'Created', 'By', 'Action'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows)));
  }).catch((error) => versionsArea.replaceChildren(h('p', { class: 'field-error', text: error.message })));

  api('GET', `/v1/secrets/${enc(key)}/usage`).then((usage) => {
    const parts = [];
    parts.push(h('h4', { class: 'label', text: 'Referenced by' }));
    parts.push(usage.references.length === 0
      ? h('p', { class: 'muted', text: 'No stored configuration references it.' })
      : h('table', { class: 'mini' },
        h('thead', {}, h('tr', {}, ['Product', 'App', 'Environment', 'Path'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, usage.references.map((r) => h('tr', {}, h('td', { text: r.product }), h('td', { text: r.app }), h('td', { text: r.env ?? 'all' }), h('td', {}, h('code', { text: r.path })))))));
    parts.push(h('h4', { class: 'label', text: 'Recent use' }));
    parts.push(usage.recent.length === 0
      ? h('p', { class: 'muted', text: 'Not resolved recently.' })
      : h('table', { class: 'mini' },
        h('thead', {}, h('tr', {}, ['Product', 'App', 'Environment', 'Context', 'Count', 'Last used'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, usage.recent.map((r) => h('tr', {},
          h('td', { text: r.product ?? '—' }), h('td', { text: r.app ?? '—' }), h('td', { text: r.env ?? '—' }),
          h('td', { text: r.context ?? '—' }), h('td', { text: String(r.count) }), h('td', {}, timeElement(fromIso(r.last_used_at))))))));
    usageArea.replaceChildren(...parts);
  }).catch((error) => usageArea.replaceChildren(h('p', { class: 'field-error', text: error.message })));
}

function confirmRollback(secret, version) {
  const submit = h('button', { type: 'button', class: 'button primary', text: `Roll back to v${version}` });
  const error = h('p', { class: 'field-error', role: 'alert' });
  submit.addEventListener('click', async () => {
    busy(submit, true);
    try {
      const updated = await api('POST', `/v1/secrets/${enc(secret.key)}/rollback`, { body: { version } });
      announce(`Rolled ${secret.key} back: version ${updated.version} holds the value of version ${version}`);
      loadSecrets();
      openDetails(secret.key);
    } catch (e) {
      error.textContent = e.message;
      busy(submit, false);
    }
  });
  const back = h('button', { type: 'button', class: 'button', text: 'Back', onclick: () => openDetails(secret.key) });
  openDialog({
    title: `Roll back ${secret.key}`,
    body: h('div', {}, h('p', { text: `This makes version ${secret.version + 1}, holding the value of version ${version}. Every reference uses it at once.` }), error),
    footer: [back, submit],
    focus: submit,
  });
}

