// The web view in a real browser: playwright-core driving Debian's chromium against a
// `codegraph serve` that tests/web.rs started with a fixture project. Run by that
// test; every input comes from the environment:
//
//   CODEGRAPH_BASE         the server, http://127.0.0.1:PORT
//   CODEGRAPH_TOKEN        a token of the tenant that owns CODEGRAPH_PROJECT
//   CODEGRAPH_PROJECT      its project (the fixture below)
//   CODEGRAPH_OTHER        another tenant's project, which must stay out of reach
//   CODEGRAPH_SHOTS        where screenshots go
//   CODEGRAPH_PLAYWRIGHT   the directory `npm ci` installed playwright-core into
//   CHROMIUM               the browser binary
//
// Prints one JSON line per measurement (`{"measure": ...}`) and exits non-zero on the
// first failed check.

import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('CODEGRAPH_BASE');
const token = env('CODEGRAPH_TOKEN');
const project = env('CODEGRAPH_PROJECT');
const other = env('CODEGRAPH_OTHER');
const shots = env('CODEGRAPH_SHOTS');
const require = createRequire(path.join(env('CODEGRAPH_PLAYWRIGHT'), 'package.json'));
const { chromium } = require('playwright-core');

mkdirSync(shots, { recursive: true });
let failures = 0;
function check(ok, what) {
  if (ok) {
    console.log(`ok - ${what}`);
  } else {
    failures += 1;
    console.log(`not ok - ${what}`);
  }
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  args: ['--headless', '--no-sandbox', '--disable-background-networking'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const foreign = [];
page.on('request', (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
});
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
// A request the CSP blocks never fires `request`: count the policy's refusals too.
await page.addInitScript(() => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.blockedURI));
});
const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });

try {
  // 1. No token yet: the dialog asks for one. A wrong one is refused in words.
  await page.goto(base + '/');
  await page.locator('#token-dialog[open]').waitFor();
  check(/asks for a token/.test(await page.locator('#token-why').textContent()), 'the page asks for a token');
  await page.fill('#token-input', 'not.a.valid-token');
  await page.press('#token-input', 'Enter');
  await page.locator('#notice').waitFor({ state: 'visible' });
  const refused = await page.locator('#notice').textContent();
  check(/token was refused/i.test(refused), `a wrong token shows a clear message (${refused.trim()})`);
  await shot('token');

  // 2. The right token: the only project opens on its overview.
  await page.locator('#token-dialog[open]').waitFor();
  await page.fill('#token-input', token);
  await page.press('#token-input', 'Enter');
  await page.waitForURL(new RegExp(`#/p/${project}$`));
  await page.locator('table.languages').waitFor();
  check((await page.locator('table.languages').textContent()).includes('python'), 'the project page lists its languages');
  await page.locator('ol.central li').first().waitFor();
  check(await page.locator('ol.central li').count() > 0, 'the project page lists central definitions');
  check((await page.locator('#file-count').textContent()).trim() === '4', 'the project page counts files');
  await page.locator('table.jobs').waitFor();
  check((await page.locator('table.jobs').textContent()).includes('succeeded'), 'the project page lists its jobs');
  check((await page.evaluate(() => sessionStorage.getItem('codegraph.token'))) === token, 'the token is kept for the tab');
  check(!page.url().includes(token), 'the token is not in the URL');
  await shot('project');

  // 3. Search as you type, from the keyboard: `/`, words, the results.
  await page.keyboard.press('/');
  const typed = Date.now();
  await page.keyboard.type('restock', { delay: 30 });
  // The answer to the whole word (a pause while typing may show a prefix's first).
  await page.locator('#search-summary[data-q="restock"]').waitFor();
  const firstResultMs = Date.now() - typed;
  console.log(JSON.stringify({ measure: 'fixture_first_result_ms', value: firstResultMs }));
  const first = page.locator('ol.results li.result').first();
  const firstText = await first.textContent();
  check(firstText.includes('restock') && firstText.includes('inventory/store.py'), 'the first result names the definition and its file');
  check(await first.locator('.kind').count() === 1, 'results show the kind');
  check(await first.locator('pre.signature').count() === 1, 'results show the signature');
  check((await first.locator('pre.matches').textContent() || '').includes('restock'), 'results show the matched lines');
  check(/#\/p\/.+\/search\?q=restock/.test(page.url()), 'the search is in the URL');
  await shot('search');

  // 4. Open the result with the keyboard alone, then walk to a caller and back.
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/p\/.+\/symbol\//);
  await page.locator('#symbol-name').waitFor();
  check((await page.locator('#symbol-name').textContent()).endsWith('restock'), 'the symbol view opens on the definition');
  await page.locator('table.source tr.def').first().waitFor();
  check(await page.locator('table.source tr.def').count() >= 3, 'the definition\'s source is shown, with its lines marked');
  check(await page.locator('table.source .tok-kw').count() > 0, 'the source is highlighted');
  const callers = page.locator('section.edges-list').first();
  check((await callers.textContent()).includes('nightly_report'), 'callers are listed');
  check((await callers.textContent()).includes('inventory/report.py'), 'callers are grouped by file');
  const callees = page.locator('section.edges-list').nth(1);
  check((await callees.textContent()).includes('add_item') && (await callees.textContent()).includes('total'), 'callees are listed');
  await page.locator('section.impact details').first().waitFor();
  check(await page.locator('section.impact details').count() > 0, 'impact is shown as a tree');
  await page.locator('section.impact details summary').first().click();
  // The entry's dependents arrive after a request ("Loading…" first).
  const deeper = page.locator('section.impact details[open] ul a.symbol', { hasText: 'weekly_report' });
  await deeper.first().waitFor().catch(() => {});
  check(await deeper.count() > 0, 'opening an impact entry shows what depends on it');
  await shot('symbol');
  const symbolUrl = page.url();
  const named = (name) => page.waitForFunction(
    (name) => document.querySelector('#symbol-name')?.textContent.endsWith(name), name)
    .then(() => true, () => false);
  await callers.locator('a.symbol', { hasText: 'nightly_report' }).first().click();
  await page.waitForURL((u) => u.toString() !== symbolUrl);
  check(await named('nightly_report'), 'a caller opens by clicking its name');
  await page.locator('.edges-list li').first().waitFor();
  const guessed = await page.locator('.edges-list li.guess').count();
  const certain = await page.locator('.edges-list li.certain').count();
  const guessLabel = await page.locator('.edges-list li.guess .resolution.guess').first().textContent().catch(() => '');
  check(certain > 0 && guessed > 0 && guessLabel.startsWith('guess'),
    `certain and guessed edges are marked apart (${certain} certain, ${guessed} guessed: "${guessLabel}")`);
  await page.goBack();
  await page.waitForURL(symbolUrl);
  await page.waitForFunction(() => document.querySelector('#symbol-name')?.textContent.endsWith('restock'));
  check(true, 'the back button returns to the definition');

  // 5. The neighbourhood graph: the expected nodes, clickable, exportable.
  await page.click('a.button:has-text("Neighbourhood graph")');
  await page.waitForURL(/#\/p\/.+\/graph\//);
  await page.locator('svg.graph g.node').first().waitFor();
  const labels = await page.locator('svg.graph g.node text').allTextContents();
  for (const name of ['restock', 'nightly_report', 'add_item', 'total']) {
    check(labels.includes(name), `the graph shows ${name}`);
  }
  check(await page.locator('svg.graph g.node.center').count() === 1, 'the graph marks its centre');
  const download = page.waitForEvent('download');
  await page.click('#export-svg');
  const file = await download;
  const saved = path.join(shots, 'graph-export.svg');
  await file.saveAs(saved);
  const { readFileSync } = await import('node:fs');
  check(readFileSync(saved, 'utf8').includes('<svg'), 'the graph exports as SVG');
  await shot('graph');
  await page.selectOption('#graph-radius', '2');
  await page.waitForURL(/radius=2/);
  const wider = await page.waitForFunction(() => [...document.querySelectorAll('svg.graph g.node text')]
    .some((t) => t.textContent === 'weekly_report')).then(() => true, () => false);
  check(wider, 'a wider radius reaches further');
  await page.locator('svg.graph g.node', { hasText: 'weekly_report' }).click();
  await page.waitForURL(/#\/p\/.+\/symbol\//);
  check(await named('weekly_report'), 'a graph node opens its definition');

  // 6. Another tenant's project is out of reach, and says so.
  await page.goto(`${base}/#/p/${other}`);
  await page.locator('#notice').waitFor({ state: 'visible' });
  check(/no such project/i.test(await page.locator('#notice').textContent()), 'another tenant\'s project is not reachable');

  // 7. A narrow window still reads: nothing wider than the window.
  await page.setViewportSize({ width: 400, height: 800 });
  await page.goto(`${base}/#/p/${project}/search?q=store&mode=hybrid`);
  await page.locator('ol.results li.result').first().waitFor();
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `a narrow window needs no sideways scrolling (${overflow}px)`);
  await shot('search-narrow');

  check(foreign.length === 0, `no request to any other origin (${foreign.join(', ')})`);
  const blocked = await page.evaluate(() => window.__cspViolations);
  check(blocked.length === 0, `nothing the page tried was refused by its policy (${blocked.join(', ')})`);
  check(pageErrors.length === 0, `no script errors (${pageErrors.join('; ')})`);
} catch (e) {
  failures += 1;
  console.log(`not ok - ${e.stack || e}`);
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
