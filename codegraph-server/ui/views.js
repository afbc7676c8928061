// The page's views, each a function that fills `main` from the API: projects, a
// project's overview, search results, a symbol with its source, callers, callees and
// impact, and the neighbourhood graph.

import { api } from './api.js';
import { highlight, renderTokens } from './highlight.js';
import { drawGraph, exportSvg, isGuess } from './graph.js';

/** `h('div.class', {attrs}, ...children)`: a small element builder. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const e = document.createElement(tag);
  if (classes.length) e.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const routes = {
  project: (p) => `#/p/${encodeURIComponent(p)}`,
  search: (p, params) => `#/p/${encodeURIComponent(p)}/search?${new URLSearchParams(params)}`,
  symbol: (p, id) => `#/p/${encodeURIComponent(p)}/symbol/${encodeURIComponent(id)}`,
  graph: (p, id, params = {}) =>
    `#/p/${encodeURIComponent(p)}/graph/${encodeURIComponent(id)}` +
    (Object.keys(params).length ? `?${new URLSearchParams(params)}` : ''),
};

function kindBadge(kind) {
  return h('span.kind', { title: kind }, kind.replace('_', ' '));
}

function resolutionBadge(resolution) {
  const guess = isGuess(resolution);
  return h(`span.resolution.${guess ? 'guess' : 'certain'}`, {
    title: guess
      ? `found by name alone (${resolution}): a guess`
      : `resolved by ${resolution}`,
  }, guess ? `guess: ${resolution}` : resolution);
}

function symbolLink(project, node, text) {
  return h('a.symbol', { href: routes.symbol(project, node.id) }, text ?? node.qualified_name);
}

function loading(main, what) {
  main.replaceChildren(h('p.loading', { 'aria-live': 'polite' }, `Loading ${what}…`));
}

function ago(ms) {
  if (!ms) return 'unknown';
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** The projects this token may read. */
export async function projectsView(main, signal) {
  loading(main, 'projects');
  const { projects } = await api.projects(signal);
  if (!projects.length) {
    main.replaceChildren(h('section', {}, h('h1', {}, 'No projects yet'),
      h('p', {}, 'Index a directory first: ', h('code', {}, 'codegraph index PATH'),
        ', or POST /api/v1/analyze on a server.')));
    return projects;
  }
  main.replaceChildren(h('section', {},
    h('h1', {}, 'Projects'),
    h('ul.cards', {}, projects.map((p) => h('li.card', {},
      h('a', { href: routes.project(p.name) }, p.name),
      h('span.muted', {}, ` ${p.files} files`),
      p.source ? h('div.muted.small', {}, p.source) : null)))));
  return projects;
}

/** A project's overview: languages, freshness, central definitions, jobs. */
export async function projectView(main, project, signal) {
  loading(main, project);
  const [info, map] = await Promise.all([
    api.project(project, signal),
    api.repoMap(project, 25, signal).catch((e) => ({ error: e })),
  ]);
  const jobsBox = h('div', { id: 'jobs' }, h('p.muted', {}, 'Loading jobs…'));
  const langRows = (info.languages || []).map((l) => h('tr', {},
    h('td', {}, l.language), h('td.num', {}, l.files.toLocaleString()),
    h('td.num', {}, l.lines.toLocaleString())));
  main.replaceChildren(h('section.project', {},
    h('h1', {}, project),
    h('dl.facts', {},
      h('dt', {}, 'Source'), h('dd', {}, info.source || 'unknown'),
      h('dt', {}, 'Files'), h('dd', { id: 'file-count' }, info.files.toLocaleString()),
      h('dt', {}, 'Indexed'), h('dd', { title: info.indexed_ms ? new Date(info.indexed_ms).toISOString() : '' },
        info.indexed_ms ? ago(info.indexed_ms) : 'unknown'),
      h('dt', {}, 'State'), h('dd', {}, info.dirty ? 'being indexed (or interrupted)' : 'complete'),
      h('dt', {}, 'Files with syntax errors'), h('dd', {}, String(info.files_with_errors ?? 0))),
    h('div.columns', {},
      h('section', {}, h('h2', {}, 'Languages'),
        h('table.languages', {}, h('thead', {}, h('tr', {}, h('th', {}, 'language'),
          h('th.num', {}, 'files'), h('th.num', {}, 'lines'))), h('tbody', {}, langRows))),
      h('section', {}, h('h2', {}, 'Most central definitions'),
        map.error
          ? h('p.error', {}, map.error.message)
          : h('ol.central', {}, map.results.map((r) => h('li', {},
            kindBadge(r.kind), ' ', symbolLink(project, r),
            h('span.muted.small', {}, ` ${r.path}:${r.line}`)))))),
    h('section', {}, h('h2', {}, 'Jobs'), jobsBox)));
  refreshJobs(jobsBox, project, signal);
}

async function refreshJobs(box, project, signal) {
  let jobs;
  try {
    ({ jobs } = await api.jobs(project, signal));
  } catch (e) {
    if (e.name === 'AbortError') return;
    box.replaceChildren(h('p.muted', {}, e.code === 'not_in_cluster_mode'
      ? 'Jobs are not listed in cluster mode.' : e.message));
    return;
  }
  if (!jobs.length) {
    box.replaceChildren(h('p.muted', {}, 'No jobs on this server (indexed from the command line).'));
    return;
  }
  box.replaceChildren(h('table.jobs', {},
    h('thead', {}, h('tr', {}, ['job', 'status', 'progress', 'created'].map((t) => h('th', {}, t)))),
    h('tbody', {}, jobs.map((j) => {
      const p = j.progress;
      let progress = '';
      if (p) {
        const total = p.files_expected || 0;
        const done = p.files_parsed || 0;
        progress = h('span', {},
          h('progress', { max: Math.max(total, 1), value: Math.min(done, total || 1) }),
          ` ${done}/${total || '?'} parsed, ${p.files_resolved}/${p.files_to_resolve} resolved`);
      } else if (j.result && j.result.parsed !== undefined) {
        progress = `${j.result.parsed} parsed, ${j.result.unchanged} unchanged, ${j.result.removed} removed`;
      } else if (j.error) {
        progress = j.error.message;
      }
      return h('tr', {}, h('td', {}, h('code', {}, j.job_id.slice(0, 12))),
        h('td', {}, h(`span.status.${j.status}`, {}, j.status)), h('td', {}, progress),
        h('td', {}, j.created_ms ? ago(j.created_ms) : ''));
    }))));
  if (jobs.some((j) => j.status === 'queued' || j.status === 'running')) {
    setTimeout(() => {
      if (!signal.aborted && box.isConnected) refreshJobs(box, project, signal);
    }, 1500);
  }
}

/** Search results for `params` (q, mode, kind, lang). */
export async function searchView(main, project, params, signal) {
  if (!params.q) {
    main.replaceChildren(h('p.muted', {}, 'Type to search definitions.'));
    return;
  }
  const started = performance.now();
  const answer = await api.search(project, { ...params, limit: 30 }, signal);
  const took = performance.now() - started;
  const list = h('ol.results', { 'aria-label': 'Search results' }, answer.results.map((hit, i) =>
    h('li.result', {},
      h('div.result-head', {},
        kindBadge(hit.kind), ' ',
        h('a.symbol', { href: routes.symbol(project, hit.id), 'data-rank': i + 1 }, hit.qualified_name),
        h('span.muted.small', {}, ` ${hit.path}:${hit.line}`),
        h('span.lang.small', {}, hit.language)),
      hit.signature ? h('pre.signature', {}, hit.signature) : null,
      hit.matches && hit.matches.length
        ? h('pre.matches', {}, hit.matches.map((m) =>
          h('div.match', {}, h('span.ln', {}, String(m.line)), m.text)))
        : null)));
  main.replaceChildren(h('section', {},
    h('p.muted.small', { id: 'search-summary', 'aria-live': 'polite', 'data-q': params.q },
      `${answer.results.length} results (${answer.mode}) in ${Math.round(took)} ms` +
      (answer.notes && answer.notes.length ? ` — ${answer.notes.join('; ')}` : '')),
    answer.results.length ? list : h('p', {}, 'Nothing found.')));
}

function groupByFile(results) {
  const groups = new Map();
  for (const r of results) {
    const path = r.site_path || r.path;
    if (!groups.has(path)) groups.set(path, []);
    groups.get(path).push(r);
  }
  return [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

function edgeList(project, title, answer, empty) {
  const results = answer.results || [];
  return h('section.edges-list', {},
    h('h2', {}, `${title} `, h('span.count', {}, String(results.length))),
    results.length === 0 ? h('p.muted', {}, empty) : groupByFile(results).map(([path, rs]) =>
      h('div.file-group', {}, h('h3.path', {}, path),
        h('ul', {}, rs.map((r) => h(`li.${isGuess(r.resolution) ? 'guess' : 'certain'}`, {},
          symbolLink(project, r), ' ', resolutionBadge(r.resolution),
          r.site_line ? h('span.muted.small', {}, ` line ${r.site_line}`) : null))))),
    answer.truncated ? h('p.muted.small', {}, 'The query hit its work limit; the list may be incomplete.') : null);
}

async function sourceBlock(project, symbol, signal) {
  const context = 3;
  const start = Math.max(1, symbol.line - context);
  const end = Math.min(symbol.end_line + context, symbol.line + 600);
  let src;
  try {
    src = await api.source(project, symbol.path, start, end, signal);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return h('p.muted', {}, `Source not shown: ${e.message}`);
  }
  const lines = highlight(src.lines.join('\n'), src.language);
  const table = h('table.source', { 'aria-label': `Source of ${symbol.qualified_name}` });
  const body = h('tbody');
  lines.forEach((tokens, i) => {
    const n = src.start_line + i;
    const inside = n >= symbol.line && n <= symbol.end_line;
    const code = h('td.code');
    renderTokens(code, tokens);
    body.append(h(`tr${inside ? '.def' : ''}`, { id: `L${n}` }, h('td.ln', {}, String(n)), code));
  });
  table.append(body);
  const more = src.truncated || symbol.end_line > end
    ? h('p.muted.small', {}, 'Long definition: the first lines are shown.') : null;
  return h('div.source-wrap', {}, table, more);
}

function impactTree(project, symbol, depthOne, signal) {
  const certainOnly = h('input', { type: 'checkbox', id: 'impact-certain' });
  const tree = h('ul.tree', { role: 'tree' });
  const fill = async () => {
    tree.replaceChildren(h('li.muted', {}, 'Loading…'));
    let answer;
    try {
      answer = certainOnly.checked
        ? await api.impact(project, symbol.id, 1, true, signal)
        : depthOne;
    } catch (e) {
      if (e.name !== 'AbortError') tree.replaceChildren(h('li.error', {}, e.message));
      return;
    }
    tree.replaceChildren(...branch(answer.results, 1));
  };
  const branch = (results, level) => {
    if (!results.length) return [h('li.muted', {}, 'Nothing depends on it.')];
    return results.map((r) => {
      const children = h('ul', { role: 'group' });
      const item = h(`li.${r.certain === false ? 'guess' : 'certain'}`, { role: 'treeitem' });
      const details = h('details', {},
        h('summary', {}, kindBadge(r.kind), ' ', symbolLink(project, r),
          r.certain === false ? h('span.resolution.guess', { title: 'reached only through guesses by name' }, 'guess') : null,
          h('span.muted.small', {}, ` ${r.path}:${r.line}`)),
        children);
      let loaded = false;
      details.addEventListener('toggle', async () => {
        if (!details.open || loaded || level >= 6) return;
        loaded = true;
        children.replaceChildren(h('li.muted', {}, 'Loading…'));
        try {
          const next = await api.impact(project, r.id, 1, certainOnly.checked, signal);
          children.replaceChildren(...branch(next.results, level + 1));
        } catch (e) {
          if (e.name !== 'AbortError') children.replaceChildren(h('li.error', {}, e.message));
        }
      });
      item.append(details);
      return item;
    });
  };
  certainOnly.addEventListener('change', fill);
  fill();
  return h('section.impact', {},
    h('h2', {}, 'Impact'),
    h('p.muted.small', {}, 'What depends on it; open an entry to see what depends on that. ',
      h('label', {}, certainOnly, ' certain edges only')),
    tree);
}

/** One definition: its source, callers, callees and impact. */
export async function symbolView(main, project, id, signal) {
  loading(main, 'the symbol');
  const [callers, callees, impact] = await Promise.all([
    api.callers(project, id, signal),
    api.callees(project, id, signal),
    api.impact(project, id, 1, false, signal),
  ]);
  const symbol = callers.symbol;
  document.title = `${symbol.name} — CodeGraph`;
  const source = await sourceBlock(project, symbol, signal);
  main.replaceChildren(h('article.symbol-view', {},
    h('header.symbol-head', {},
      h('div', {}, kindBadge(symbol.kind), ' ', h('span.lang.small', {}, symbol.language)),
      h('h1', { id: 'symbol-name' }, symbol.qualified_name),
      h('p.muted', {}, `${symbol.path}:${symbol.line}–${symbol.end_line}`),
      symbol.signature ? h('pre.signature', {}, symbol.signature) : null,
      h('p', {}, h('a.button', { href: routes.graph(project, symbol.id) }, 'Neighbourhood graph'))),
    source,
    h('div.columns', {},
      edgeList(project, 'Callers', callers, 'No callers found.'),
      edgeList(project, 'Callees', callees, 'Calls nothing in the project.')),
    impactTree(project, symbol, impact, signal)));
}

const EDGE_KINDS = ['calls', 'inherits', 'implements', 'imports', 'references', 'contains'];

/** The neighbourhood graph of one definition. */
export async function graphView(main, project, id, params, signal, navigate) {
  const radius = Math.min(3, Math.max(1, Number(params.radius) || 1));
  const maxNodes = Math.min(1000, Math.max(10, Number(params.max_nodes) || 300));
  const kinds = new Set((params.kinds || 'calls,inherits,implements').split(',').filter(Boolean));
  loading(main, 'the graph');
  const answer = await api.neighbours(project, id, radius, maxNodes, signal);
  const edges = answer.edges.filter((e) => kinds.has(e.kind));
  const linked = new Set([id]);
  for (const e of edges) {
    linked.add(e.src);
    linked.add(e.dst);
  }
  const nodes = answer.nodes.filter((n) => linked.has(n.id));
  const center = answer.nodes.find((n) => n.id === id) || nodes[0];
  const change = (patch) => navigate(routes.graph(project, id, {
    radius, max_nodes: maxNodes, kinds: [...kinds].join(','), ...patch,
  }));
  const radiusPick = h('select', { id: 'graph-radius', 'aria-label': 'Radius',
    onchange: (ev) => change({ radius: ev.target.value }) },
  [1, 2, 3].map((r) => h('option', { value: r, selected: r === radius }, `radius ${r}`)));
  const kindBoxes = EDGE_KINDS.map((k) => {
    const box = h('input', { type: 'checkbox', value: k, checked: kinds.has(k),
      onchange: () => {
        const next = new Set(kinds);
        if (box.checked) next.add(k);
        else next.delete(k);
        change({ kinds: [...next].join(',') });
      } });
    return h('label.check', {}, box, ` ${k}`);
  });
  const canvas = h('div.graph-box', { id: 'graph' });
  const exportButton = h('button', { type: 'button', id: 'export-svg' }, 'Export SVG');
  main.replaceChildren(h('section.graph-view', {},
    h('h1', {}, 'Neighbourhood of ', center ? symbolLink(project, center) : id),
    h('div.controls', {}, radiusPick, ...kindBoxes, exportButton,
      h('span.muted.small', { id: 'graph-summary' },
        `${nodes.length} definitions, ${edges.length} edges` + (answer.truncated ? ' (cut at the limit)' : ''))),
    h('p.legend.small', {}, h('span.legend-certain', {}, '—— resolved'), ' ',
      h('span.legend-guess', {}, '- - - guessed by name'), ' · drag to pan, wheel to zoom, Tab and Enter to open'),
    canvas,
    h('details', {}, h('summary', {}, 'The same as a list'),
      h('ul', {}, nodes.map((n) => h('li', {}, kindBadge(n.kind), ' ', symbolLink(project, n)))))));
  const svg = drawGraph(canvas, nodes, edges, id,
    (node) => navigate(routes.symbol(project, node.id)));
  exportButton.addEventListener('click', () => exportSvg(svg, `${center ? center.name : 'graph'}.svg`));
}
