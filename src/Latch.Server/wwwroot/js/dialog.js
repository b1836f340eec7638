import { h } from './dom.js';

// One modal <dialog> (aria-modal; showModal keeps focus inside and makes the page inert; focus goes back on close).
const dialog = () => document.getElementById('dialog');
let opener = null;
let onClosed = null;

function finishClose() {
  const dlg = dialog();
  const done = onClosed;
  onClosed = null;
  // Whatever the dialog showed (a generated or revealed value included) leaves the page with it.
  dlg.replaceChildren();
  const back = opener;
  opener = null;
  if (back?.isConnected) back.focus();
  else if (!document.getElementById('dialog').contains(document.activeElement) && document.activeElement === document.body) document.getElementById('main').focus();
  done?.();
}

dialog().addEventListener('close', () => {
  // The close event is queued: if the dialog was opened again meanwhile, there is nothing to undo.
  if (!dialog().open) finishClose();
});

/**
 * Opens the dialog, or replaces what an open one shows. `body` is a Node; `footer` an array of buttons;
 * `focus` the element to focus first. Returns { close, body, setFooter }.
 */
export function openDialog({ title, body, footer = [], focus, closed }) {
  const dlg = dialog();
  if (!dlg.open) {
    opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
  }
  onClosed = closed ?? null;
  const close = h('button', { type: 'button', class: 'button subtle small', text: 'Close', onclick: () => dlg.close() });
  const foot = h('div', { class: 'dialog-foot' }, footer);
  const bodyWrap = h('div', { class: 'dialog-body' }, body, h('p', { class: 'dialog-status', role: 'status', 'aria-live': 'polite' }));
  dlg.replaceChildren(
    h('div', { class: 'dialog-head' }, h('h2', { id: 'dialog-title', text: title }), close),
    bodyWrap,
    foot,
  );
  if (!dlg.open) dlg.showModal();
  const target = focus ?? bodyWrap.querySelector('input:not([type=hidden]):not([disabled]), select, textarea, button') ?? close;
  target.focus();
  return {
    close: () => dlg.close(),
    body: bodyWrap,
    setFooter: (...buttons) => foot.replaceChildren(...buttons),
  };
}
