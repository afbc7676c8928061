// The page's only way to the server: the public REST API under /api/v1, with the
// reader's token. Anything the page shows, a client can ask for the same way.

const TOKEN_KEY = 'codegraph.token';

/** An answer other than 2xx, with the server's own error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The token kept for this tab (sessionStorage: gone when the tab closes). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** GET /api/v1 + path with the given query parameters (empty ones left out). */
export async function get(path, params = {}, signal) {
  const url = new URL('/api/v1' + path, location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  let response;
  try {
    response = await fetch(url, { headers, signal, credentials: 'omit' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'unreachable', 'The server does not answer (' + e.message + ').');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const err = (body && body.error) || {};
    throw new ApiError(response.status, err.code || 'http_' + response.status,
      err.message || response.statusText || 'request failed');
  }
  return body;
}

const p = encodeURIComponent;

export const api = {
  projects: (signal) => get('/projects', {}, signal),
  project: (project, signal) => get(`/projects/${p(project)}`, {}, signal),
  search: (project, params, signal) =>
    get(`/projects/${p(project)}/search`, { ...params, matches: true }, signal),
  symbols: (project, params, signal) => get(`/projects/${p(project)}/symbols`, params, signal),
  callers: (project, symbol, signal) => get(`/projects/${p(project)}/callers`, { symbol }, signal),
  callees: (project, symbol, signal) => get(`/projects/${p(project)}/callees`, { symbol }, signal),
  impact: (project, symbol, depth, certain, signal) =>
    get(`/projects/${p(project)}/impact`,
      { symbol, depth, min_confidence: certain ? 'certain' : 'any' }, signal),
  neighbours: (project, symbol, radius, maxNodes, signal) =>
    get(`/projects/${p(project)}/neighbours`, { symbol, radius, max_nodes: maxNodes }, signal),
  outline: (project, path, signal) => get(`/projects/${p(project)}/outline`, { path }, signal),
  source: (project, path, start, end, signal) =>
    get(`/projects/${p(project)}/source`, { path, start, end }, signal),
  repoMap: (project, limit, signal) => get(`/projects/${p(project)}/repo_map`, { limit }, signal),
  jobs: (project, signal) => get('/jobs', { project, limit: 10 }, signal),
};
