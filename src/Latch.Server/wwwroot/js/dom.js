// Small DOM helpers: elements are built with textContent only, never innerHTML, so nothing from the API is markup.
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name in element && typeof value !== 'string') element[name] = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const SVG = 'http://www.w3.org/2000/svg';

/** The copy icon (two overlapping sheets), decorative. */
export function copyIcon() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const back = document.createElementNS(SVG, 'rect');
  for (const [name, value] of Object.entries({ x: 9, y: 9, width: 12, height: 12, rx: 2, fill: 'none', stroke: 'currentColor', 'stroke-width': 2 })) back.setAttribute(name, value);
  const front = document.createElementNS(SVG, 'path');
  for (const [name, value] of Object.entries({ d: 'M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round' })) front.setAttribute(name, value);
  svg.append(back, front);
  return svg;
}

let statusTimer;

/** Says something in the polite live region: the open dialog's own while a modal dialog makes the page inert. */
export function announce(message) {
  const dialog = document.getElementById('dialog');
  const region = dialog?.open ? dialog.querySelector('.dialog-status') : null;
  const target = region ?? document.getElementById('status');
  target.textContent = message;
  if (target.id === 'status') {
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => { target.textContent = ''; }, 6000);
  }
}

/** Copies text and announces it; returns whether it worked. */
export async function copyText(text, message) {
  try {
    await navigator.clipboard.writeText(text);
    announce(message);
    return true;
  } catch {
    announce('Could not copy: the browser refused access to the clipboard');
    return false;
  }
}

/** Shows field messages next to their fields inside a form (elements with data-error-for). */
export function showFieldErrors(form, fieldErrors) {
  clearFieldErrors(form);
  let first = null;
  for (const [field, messages] of Object.entries(fieldErrors)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`) ?? form.querySelector('[data-error-for="$"]');
    if (!slot) continue;
    slot.textContent = [slot.textContent, ...messages.map((m) => (field === '$' || slot.dataset.errorFor === '$' ? m : `${label(form, field)} ${m}`))].filter(Boolean).join(' · ');
    const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      first ??= input;
    }
  }
  return first;
}

function label(form, field) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  return slot?.dataset.label ?? field;
}

export function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll('[data-error-for]')) slot.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/** Replaces a select's options, keeping the choice when it still exists. */
export function fillSelect(select, anyText, values) {
  const current = select.value;
  select.replaceChildren(h('option', { value: '', text: anyText }), ...values.map((v) => h('option', { value: v, text: v })));
  select.value = values.includes(current) ? current : '';
}
