// The Workbench talks to the same public HTTP API as everyone else: fetch with Authorization: Bearer.
const STORAGE_KEY = 'latch.apiKey';

/** An API error: the RFC 9457 problem the server answered with. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }

  /** Field messages of a validation problem, keyed by the top-level field name. */
  get fieldErrors() {
    const errors = this.problem.errors;
    const result = {};
    if (!errors || Array.isArray(errors) || typeof errors !== 'object') return result;
    for (const [name, messages] of Object.entries(errors)) {
      const field = name.replace(/[[.].*$/, '') || name;
      (result[field] ??= []).push(...(Array.isArray(messages) ? messages : [String(messages)]));
    }
    return result;
  }
}

let onUnauthorized = () => {};

export const session = {
  get key() { return sessionStorage.getItem(STORAGE_KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(STORAGE_KEY, value);
    else sessionStorage.removeItem(STORAGE_KEY);
  },
  onUnauthorized(handler) { onUnauthorized = handler; },
};

/** Calls the API; resolves to the parsed JSON body (or null), rejects with an ApiError. */
export async function api(method, path, { body, key = session.key, query, headers: extra } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  const headers = { Accept: 'application/json', ...extra };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, { detail: 'Latch could not be reached. Check the server and try again.' });
  }
  const type = response.headers.get('Content-Type') ?? '';
  const data = response.status === 204 || !type.includes('json') ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && key === session.key) onUnauthorized(error);
    throw error;
  }
  return data;
}

export const enc = encodeURIComponent;
