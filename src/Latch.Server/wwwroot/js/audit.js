import { api, ApiError } from './api.js';
import { h, fillSelect } from './dom.js';
import { timeElement, fromIso } from './format.js';
import { catalog } from './catalog.js';

const PAGE_SIZE = 50;
const state = { secret: '', app: '', env: '', action: '', cursors: [null], page: 0, loading: 0 };
const $ = (id) => document.getElementById(id);

export function initAudit() {
  const filters = $('audit-filters');
  let timer;
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(timer);
    apply();
  });
  $('audit-secret').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(apply, 250);
  });
  for (const id of ['audit-app', 'audit-env', 'audit-action']) $(id).addEventListener('change', apply);
  $('audit-next').addEventListener('click', () => {
    const next = $('audit-next').dataset.cursor;
    if (!next) return;
    state.cursors[state.page + 1] = next;
    state.page += 1;
    loadAudit();
  });
  $('audit-prev').addEventListener('click', () => {
    if (state.page === 0) return;
    state.page -= 1;
    loadAudit();
  });
}

export function fillAuditFilters() {
  fillSelect($('audit-app'), 'Any app', catalog.apps.map((a) => a.access_tag));
  fillSelect($('audit-env'), 'Any environment', catalog.envs);
}

/** Shows the log filtered by one secret (from elsewhere in the Workbench). */
export function filterAuditBySecret(key) {
  $('audit-secret').value = key;
  apply(false);
}

function apply(load = true) {
  state.secret = $('audit-secret').value.trim();
  state.app = $('audit-app').value;
  state.env = $('audit-env').value;
  state.action = $('audit-action').value;
  state.cursors = [null];
  state.page = 0;
  if (load) loadAudit();
}

export async function loadAudit() {
  const ticket = ++state.loading;
  const table = $('audit-table');
  table.setAttribute('aria-busy', 'true');
  try {
    const page = await api('GET', '/v1/audit', {
      query: { limit: PAGE_SIZE, cursor: state.cursors[state.page], secret: state.secret, app: state.app, env: state.env, action: state.action },
    });
    if (ticket !== state.loading) return;
    $('audit-error').hidden = true;
    render(page.items);
    $('audit-next').dataset.cursor = page.next_cursor ?? '';
    $('audit-next').disabled = !page.next_cursor;
    $('audit-prev').disabled = state.page === 0;
    $('audit-page').textContent = page.items.length === 0 ? '' : `Page ${state.page + 1} · ${page.items.length} shown`;
    $('audit-empty').hidden = page.items.length > 0;
    $('audit-empty').textContent = 'No audit event matches these filters.';
  } catch (error) {
    if (ticket !== state.loading) return;
    const fields = error instanceof ApiError ? Object.entries(error.fieldErrors).map(([f, m]) => `${f} ${m.join(', ')}`) : [];
    $('audit-error').textContent = [error.message, ...fields].join(' — ');
    $('audit-error').hidden = false;
  } finally {
    if (ticket === state.loading) table.removeAttribute('aria-busy');
  }
}

function render(items) {
  const dash = () => h('span', { class: 'muted', text: '—' });
  const rows = items.map((event) => {
    const cell = (label, ...content) => h('td', { dataset: { label } }, ...content);
    const where = [event.product, event.app, event.env].filter(Boolean).join(' / ');
    const detail = [event.context, event.path, event.code, event.detail].filter(Boolean).join(' · ');
    return h('tr', {},
      h('td', { class: 'primary-cell', dataset: { label: 'Time' } }, timeElement(fromIso(event.at))),
      cell('Action', h('code', { text: event.action })),
      cell('Secret', event.secret ? h('code', { text: event.secret }) : dash()),
      cell('Version', event.version ? `v${event.version}` : dash()),
      cell('Actor', event.actor?.name ?? event.actor?.key_id ?? dash()),
      cell('Where', where || dash()),
      cell('Detail', detail || dash()),
      cell('Request', event.request_id ? h('code', { class: 'sub', text: event.request_id }) : dash()));
  });
  $('audit-body').replaceChildren(...rows);
}
