// The page's entry: hash routes (so a view's URL can be shared and the back button
// works), the search box, the project picker and the token dialog.
//
// Routes:
//   #/                               the projects
//   #/p/NAME                         a project's overview
//   #/p/NAME/search?q=&mode=&kind=&lang=
//   #/p/NAME/symbol/ID               a definition (ID: the graph's 16-digit node id)
//   #/p/NAME/graph/ID?radius=&kinds=&max_nodes=

import { api, ApiError, setToken, token } from './api.js';
import { graphView, projectsView, projectView, routes, searchView, symbolView } from './views.js';

const $ = (id) => document.getElementById(id);
const main = $('main');
const q = $('q');
const notice = $('notice');
let current = null; // the AbortController of the view being drawn
let projects = [];

function parseHash() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params: Object.fromEntries(new URLSearchParams(query)) };
}

function navigate(hash, { replace = false } = {}) {
  if (location.hash === hash) return;
  if (replace) {
    history.replaceState(null, '', hash);
    render();
  } else {
    location.hash = hash;
  }
}

function showNotice(message) {
  notice.textContent = message;
  notice.hidden = !message;
}

function currentProject() {
  const { parts } = parseHash();
  return parts[0] === 'p' ? parts[1] : null;
}

async function loadProjects(signal) {
  const answer = await api.projects(signal);
  projects = answer.projects.map((p) => p.name);
  const pick = $('project');
  pick.replaceChildren(...projects.map((name) => {
    const o = document.createElement('option');
    o.value = name;
    o.textContent = name;
    return o;
  }));
  const p = currentProject();
  if (p) pick.value = p;
}

async function render() {
  // Only `#/...` is a route; `#main` (the skip link) and the like stay on the page.
  if (location.hash && !location.hash.startsWith('#/')) return;
  if (current) current.abort();
  current = new AbortController();
  const { signal } = current;
  showNotice('');
  try {
    const { parts, params } = parseHash();
    if (!projects.length) await loadProjects(signal);
    if (parts[0] !== 'p' || !parts[1]) {
      document.title = 'CodeGraph';
      const list = await projectsView(main, signal);
      if (list.length === 1) navigate(routes.project(list[0].name), { replace: true });
      return;
    }
    const [, project, view, arg] = parts;
    $('project').value = project;
    if (!view) {
      document.title = `${project} — CodeGraph`;
      await projectView(main, project, signal);
    } else if (view === 'search') {
      document.title = `${params.q || 'Search'} — CodeGraph`;
      if (document.activeElement !== q) q.value = params.q || '';
      $('mode').value = params.mode || 'hybrid';
      $('kind').value = params.kind || '';
      $('lang').value = params.lang || '';
      await searchView(main, project, params, signal);
    } else if (view === 'symbol' && arg) {
      await symbolView(main, project, arg, signal);
    } else if (view === 'graph' && arg) {
      document.title = 'Graph — CodeGraph';
      await graphView(main, project, arg, params, signal, navigate);
    } else {
      main.replaceChildren(Object.assign(document.createElement('p'), { textContent: 'No such page.' }));
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
    fail(e);
  }
}

function fail(e) {
  if (e instanceof ApiError && e.status === 401) {
    main.replaceChildren();
    askToken(token()
      ? `The token was refused: ${e.message}`
      : 'This server asks for a token (a JWT) for every request.');
    showNotice(token() ? `The token was refused: ${e.message}` : 'A token is needed.');
    return;
  }
  if (e instanceof ApiError && e.code === 'project_not_found') {
    showNotice(`No such project here (or not yours): ${e.message}`);
  } else {
    showNotice(e.message || String(e));
  }
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = e.message || String(e);
  main.replaceChildren(p);
}

function askToken(why) {
  const dialog = $('token-dialog');
  $('token-why').textContent = why;
  $('token-input').value = '';
  if (!dialog.open) dialog.showModal();
  $('token-input').focus();
}

// Search as you type: the view follows the box after a short pause, replacing the
// history entry while typing and adding one when the query is submitted.
let typing = null;
function searchParams() {
  const params = { q: q.value.trim(), mode: $('mode').value };
  if ($('kind').value) params.kind = $('kind').value;
  if ($('lang').value) params.lang = $('lang').value;
  return params;
}
function searchNow({ replace }) {
  const project = currentProject() || projects[0];
  if (!project) return;
  const params = searchParams();
  if (!params.q) return;
  navigate(routes.search(project, params), { replace });
}
q.addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(() => {
    const inSearch = parseHash().parts[2] === 'search';
    searchNow({ replace: inSearch });
  }, 200);
});
$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearTimeout(typing);
  searchNow({ replace: false });
  const first = main.querySelector('a.symbol');
  if (first && parseHash().params.q === q.value.trim()) first.focus();
});
for (const id of ['mode', 'kind', 'lang']) {
  $(id).addEventListener('change', () => searchNow({ replace: true }));
}
$('project').addEventListener('change', (ev) => navigate(routes.project(ev.target.value)));

// Keys: `/` to search, arrows through results.
document.addEventListener('keydown', (ev) => {
  const typingInField = ['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement.tagName);
  if (ev.key === '/' && !typingInField) {
    ev.preventDefault();
    q.focus();
    q.select();
  } else if ((ev.key === 'ArrowDown' || ev.key === 'ArrowUp') && (document.activeElement === q ||
      document.activeElement.classList.contains('symbol'))) {
    const links = [...main.querySelectorAll('ol.results a.symbol')];
    if (!links.length) return;
    ev.preventDefault();
    const at = links.indexOf(document.activeElement);
    const next = ev.key === 'ArrowDown' ? Math.min(at + 1, links.length - 1) : at - 1;
    if (next < 0) q.focus();
    else links[next].focus();
  }
});

// The token dialog.
$('token-form').addEventListener('submit', () => {
  setToken($('token-input').value.trim());
  projects = [];
  render();
});
$('token-cancel').addEventListener('click', () => $('token-dialog').close());
$('token-clear').addEventListener('click', () => {
  setToken('');
  $('token-dialog').close();
  projects = [];
  render();
});
$('token-button').addEventListener('click', () => askToken('Enter the token to use in this tab.'));

// The skip link moves focus without leaving the view (or the route in the URL).
$('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', render);
render();
