// Measures the web view against a running server (scripts/web-bench.sh starts one):
// the page's own size, the time from opening it to the project page, and the time from
// typing a query to its first result, in Debian's chromium driven by playwright-core.
//
//   CODEGRAPH_BASE, CODEGRAPH_PROJECT, CODEGRAPH_PLAYWRIGHT, CHROMIUM as for
//   ui.test.mjs; CODEGRAPH_QUERIES: queries separated by `|`; CODEGRAPH_MODE.
//
// Prints one JSON object.

import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const env = (name, fallback) => process.env[name] || fallback;
const base = env('CODEGRAPH_BASE');
const project = env('CODEGRAPH_PROJECT');
const mode = env('CODEGRAPH_MODE', 'hybrid');
const queries = env('CODEGRAPH_QUERIES', 'queryset filter|migration autodetector|template render context').split('|');
const require = createRequire(path.join(env('CODEGRAPH_PLAYWRIGHT'), 'package.json'));
const { chromium } = require('playwright-core');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

// The page's own files, as served.
const files = ['/', '/ui/app.js', '/ui/api.js', '/ui/views.js', '/ui/graph.js', '/ui/highlight.js', '/ui/style.css'];
let raw = 0;
let gzip = 0;
for (const f of files) {
  const body = Buffer.from(await (await fetch(base + f)).arrayBuffer());
  raw += body.length;
  gzip += gzipSync(body, { level: 9 }).length;
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  args: ['--headless', '--no-sandbox', '--disable-background-networking'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.setDefaultTimeout(60000);
const opened = Date.now();
await page.goto(`${base}/#/p/${project}`);
await page.locator('ol.central li').first().waitFor();
const projectPageMs = Date.now() - opened;
await page.selectOption('#mode', mode);

// In the page's own clock: the last input event, and when the answer to it is shown.
await page.evaluate(() => {
  window.__lastInput = 0;
  document.querySelector('#q').addEventListener('input', () => {
    window.__lastInput = performance.now();
  });
});
const fromFirstKey = [];
const fromLastKey = [];
const serverMs = [];
for (const q of queries) {
  await page.fill('#q', '');
  await page.focus('#q');
  const first = await page.evaluate(() => performance.now());
  await page.keyboard.type(q, { delay: 40 });
  // Done when the results on screen are this query's.
  // Done when the results on screen are this query's (the summary names its query).
  const done = await page.waitForFunction((q) =>
    document.querySelector('#search-summary')?.dataset.q === q && performance.now(), q);
  const shown = await done.jsonValue();
  const last = await page.evaluate(() => window.__lastInput);
  fromFirstKey.push(Math.round(shown - first));
  fromLastKey.push(Math.round(shown - last));
  // The answer alone: the same request straight from here, now cached by nobody but
  // the server's own results tier, so a new query string is used.
  const t = Date.now();
  await fetch(`${base}/api/v1/projects/${project}/search?q=${encodeURIComponent(q + ' x')}&mode=${mode}&limit=30&matches=true`);
  serverMs.push(Date.now() - t);
}
// The graph of the most central definition, two steps out, up to 300 definitions.
const central = await (await fetch(`${base}/api/v1/projects/${project}/repo_map?limit=1`)).json();
const centre = central.results[0];
const graphStarted = Date.now();
await page.goto(`${base}/#/p/${project}/graph/${centre.id}?radius=2&max_nodes=300&kinds=calls,inherits,implements`);
await page.locator('svg.graph g.node').first().waitFor();
const graphMs = Date.now() - graphStarted;
const graphNodes = await page.locator('svg.graph g.node').count();
const graphEdges = await page.locator('svg.graph line.edge').count();
await browser.close();
console.log(JSON.stringify({
  graph_centre: centre.qualified_name,
  graph_nodes: graphNodes,
  graph_edges: graphEdges,
  graph_shown_ms: graphMs,
  bundle_bytes: raw,
  bundle_gzip_bytes: gzip,
  project_page_ms: projectPageMs,
  mode,
  queries: queries.length,
  first_result_after_last_key_ms_median: median(fromLastKey),
  first_result_after_last_key_ms_max: Math.max(...fromLastKey),
  first_result_after_first_key_ms_median: median(fromFirstKey),
  debounce_ms: 200,
  search_request_ms_median: median(serverMs),
  search_request_ms_max: Math.max(...serverMs),
}));
