import { api, session, ApiError } from './api.js';
import { announce } from './dom.js';
import { loadCatalog } from './catalog.js';
import { initSecrets, loadSecrets, fillSecretFilters } from './secrets.js';
import { initAudit, loadAudit, fillAuditFilters } from './audit.js';

const $ = (id) => document.getElementById(id);
const views = { secrets: 'secrets-view', audit: 'audit-view' };
const titles = { secrets: 'Secrets', audit: 'Audit log' };
let signedIn = false;

function routeName() {
  const name = location.hash.replace(/^#\/?/, '');
  return name in views ? name : 'secrets';
}

function showSignIn(message = '') {
  signedIn = false;
  for (const id of Object.values(views)) $(id).hidden = true;
  $('nav').hidden = true;
  $('session').hidden = true;
  $('sign-in-view').hidden = false;
  $('api-key').value = '';
  $('api-key-error').textContent = message;
  if (message) $('api-key').setAttribute('aria-invalid', 'true');
  else $('api-key').removeAttribute('aria-invalid');
  document.title = 'Sign in · Latch Workbench';
  $('api-key').focus();
}

async function enter(workspace) {
  signedIn = true;
  $('sign-in-view').hidden = true;
  $('nav').hidden = false;
  $('session').hidden = false;
  $('workspace-name').textContent = workspace?.name ? `Workspace: ${workspace.name}` : '';
  await loadCatalog();
  fillSecretFilters();
  fillAuditFilters();
  route(true);
}

function route(initial = false) {
  if (!signedIn) return;
  const name = routeName();
  for (const [view, id] of Object.entries(views)) $(id).hidden = view !== name;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.route === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${titles[name]} · Latch Workbench`;
  if (name === 'secrets') loadSecrets();
  else loadAudit();
  if (!initial) $('main').focus();
}

async function signIn(event) {
  event.preventDefault();
  const key = $('api-key').value.trim();
  if (!key) {
    $('api-key-error').textContent = 'Enter an API key.';
    $('api-key').setAttribute('aria-invalid', 'true');
    $('api-key').focus();
    return;
  }
  const button = event.submitter ?? $('sign-in-form').querySelector('button');
  button.disabled = true;
  try {
    const workspace = await api('GET', '/v1/workspace', { key });
    session.key = key;
    $('api-key').value = '';
    await enter(workspace);
    $('main').focus();
  } catch (error) {
    const message = error instanceof ApiError && error.status === 401 ? `This API key was refused: ${error.message}` : error.message;
    $('api-key-error').textContent = message;
    $('api-key').setAttribute('aria-invalid', 'true');
    $('api-key').focus();
  } finally {
    button.disabled = false;
  }
}

function signOut(message = '') {
  session.key = null;
  const dlg = $('dialog');
  if (dlg.open) dlg.close();
  $('secrets-body').replaceChildren();
  $('audit-body').replaceChildren();
  showSignIn(message);
}

async function start() {
  initSecrets();
  initAudit();
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => {
    signOut();
    announce('Signed out');
  });
  window.addEventListener('hashchange', () => route());
  session.onUnauthorized((error) => signOut(`Signed out: ${error.message}`));
  const key = session.key;
  if (!key) {
    showSignIn();
    return;
  }
  try {
    await enter(await api('GET', '/v1/workspace', { key }));
  } catch (error) {
    session.key = null;
    showSignIn(error instanceof ApiError && error.status === 401 ? `Signed out: ${error.message}` : error.message);
  }
}

start();
