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

const fromFirstKey = [];
const fromLastKey = [];
for (const q of queries) {
  await page.fill('#q', '');
  await page.focus('#q');
  const first = Date.now();
  await page.keyboard.type(q, { delay: 40 });
  const last = Date.now();
  // Done when the results on screen are this query's.
  await page.waitForFunction((q) => {
    const s = new URLSearchParams(location.hash.split('?')[1] || '');
    return s.get('q') === q && document.querySelector('#search-summary');
  }, q);
  const done = Date.now();
  fromFirstKey.push(done - first);
  fromLastKey.push(done - last);
}
await browser.close();
console.log(JSON.stringify({
  bundle_bytes: raw,
  bundle_gzip_bytes: gzip,
  project_page_ms: projectPageMs,
  mode,
  queries: queries.length,
  first_result_after_last_key_ms_median: median(fromLastKey),
  first_result_after_last_key_ms_max: Math.max(...fromLastKey),
  first_result_after_first_key_ms_median: median(fromFirstKey),
}));
