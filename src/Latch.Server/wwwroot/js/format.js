// Times in the person's own locale and time zone, with a relative hint ("in 3 days").
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "in 3 days", "2 hours ago", "now": days stay days up to six weeks (an expiry "in 30 days" reads as such). */
export function relativeTime(date, now = Date.now()) {
  const seconds = (date.getTime() - now) / 1000;
  const size = Math.abs(seconds);
  const say = (length, unit) => relative.format(Math.round(seconds / length), unit);
  if (size < 45) return relative.format(0, 'second');
  if (size < 45 * 60) return say(60, 'minute');
  if (size < 22 * 3600) return say(3600, 'hour');
  if (size < 45 * 86400) return say(86400, 'day');
  if (size < 320 * 86400) return say(30 * 86400, 'month');
  return say(365 * 86400, 'year');
}

export const formatDateTime = (date) => dateTime.format(date);

export const fromUnix = (seconds) => (seconds === null || seconds === undefined ? null : new Date(seconds * 1000));

export const fromIso = (text) => (text ? new Date(text) : null);

/** A <time> element with the local date and time, and the relative hint below it. */
export function timeElement(date, { empty = '—' } = {}) {
  if (!date) {
    const span = document.createElement('span');
    span.className = 'muted';
    span.textContent = empty;
    return span;
  }
  const wrap = document.createElement('span');
  const time = document.createElement('time');
  time.dateTime = date.toISOString();
  time.textContent = formatDateTime(date);
  const hint = document.createElement('span');
  hint.className = 'sub';
  hint.textContent = relativeTime(date);
  wrap.append(time, hint);
  return wrap;
}

/** Unix seconds for a yyyy-mm-dd date, at local midnight. */
export function unixFromDateInput(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? '');
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Math.floor(date.getTime() / 1000);
}

/** Unix seconds for "in N days" from now. */
export const unixInDays = (days) => Math.floor(Date.now() / 1000) + Math.round(days * 86400);
