// The built-in dashboard in real browsers: Debian's chromium and firefox-esr, headless, both
// driven by puppeteer-core (tests/browser; chromium over CDP, Firefox over WebDriver BiDi; never
// a browser download). For each browser the page is opened on a fresh daemon's loopback
// listener against a fresh fake Bedrock endpoint; it must show the totals of /v1/stats, the
// rows the list API gives for two filters and a second page, a failure message in full, jobs
// the fake adds and finishes without a reload (the SSE feed), and recover when the daemon is
// killed and restarted. Any console error, uncaught exception or request to another origin
// fails the test; both checks are first shown to see a planted error and the page's own
// requests in that browser. A screenshot per browser is saved (CJ_ARTIFACTS, default
// ./artifacts): dashboard-chromium.png, dashboard-firefox.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requireEnv, startFake, startDaemon, waitFor, sleep } from './lib/harness.mjs';
import { SOURCE_DIR, freePort } from './lib/systemd-helpers.mjs';

const BROWSER_DIR = join(SOURCE_DIR, 'tests/browser');
const SYNC_INTERVAL_S = 2;
const ARTIFACTS = resolve(process.env.CJ_ARTIFACTS ?? 'artifacts');
const VIEWPORT = { width: 1400, height: 1100 };
const CANARY = 'cj-dashboard-canary';

// What each browser reports on its own while the page works as it should, and nothing more.
// /v1/health answers 503 whenever the state is not ok (the contract) and the page reads that
// body on purpose: chromium logs the status as a console error. While the test holds the
// daemon down, chromium logs the refused reconnects and polls (seen as
// ERR_SOCKET_NOT_CONNECTED too, once, with the daemon under ASan). Firefox over BiDi forwards
// console calls, uncaught exceptions and CSP violations (as page errors) but neither of those network
// reports; should it start to, its words for the stream's failed reconnects are allowed during
// the outage, as chromium's are.
const BROWSERS = [
  {
    name: 'chromium',
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    package: 'chromium',
    launch: {
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
        '--disable-sync', '--disable-extensions', '--metrics-recording-only', '--mute-audio'],
    },
    healthStatus: /status of 503/,
    outageNoise: /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|ERR_SOCKET_NOT_CONNECTED|ERR_INCOMPLETE_CHUNKED_ENCODING|status of 503/,
  },
  {
    name: 'firefox',
    executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
    package: 'firefox-esr',
    launch: { browser: 'firefox' },
    healthStatus: null,
    outageNoise: /can.t establish a connection to the server at |The connection to .* was interrupted while the page was loading/,
  },
];

const hasPuppeteer = existsSync(join(BROWSER_DIR, 'node_modules/puppeteer-core'));
const skipFor = (b) => !hasPuppeteer
  ? 'tests/browser has no node_modules: run `npm ci` there (scripts/setup does)'
  : !existsSync(b.executablePath) ? `${b.executablePath} is missing: apt-get install ${b.package} (scripts/setup does)` : false;

const num = (s) => Number(String(s).replace(/,/g, ''));

// Width and height from a PNG's IHDR chunk.
function pngSize(file) {
  const b = readFileSync(file);
  assert.equal(b.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${file} is a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

for (const b of BROWSERS) describe(b.name, { skip: skipFor(b) }, () => browserSuite(b));

function browserSuite(b) {
  const skip = skipFor(b);
  let fake, daemon, stateDir, port, origin, browser, page;
  const problems = [];      // console errors, page errors, foreign requests
  const seen = new Set();   // the paths of the page's own requests
  let outage = false;       // the daemon is down on purpose: refused connections are expected

  async function startOurDaemon() {
    return startDaemon({
      endpoint: fake.http, stateDir,
      config: `listen_tcp = 127.0.0.1:${port}\n[sync]\ninterval = ${SYNC_INTERVAL_S}s\n`,
    });
  }

  before(async () => {
    if (skip) return;
    requireEnv();
    stateDir = mkdtempSync(join(tmpdir(), `cj-dashboard-${b.name}-`));
    fake = await startFake({ jobs: 3000, seed: 11, extraArgs: ['--https-port', '-1'] });
    port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    daemon = await startOurDaemon();

    const require = createRequire(join(BROWSER_DIR, 'package.json'));
    const puppeteer = (await import(require.resolve('puppeteer-core'))).default;
    browser = await puppeteer.launch({ executablePath: b.executablePath, headless: true, ...b.launch });
    page = await browser.newPage();
    await page.setViewport(VIEWPORT);
    page.on('pageerror', (e) => {
      const text = e?.message ?? String(e);
      if (outage && b.outageNoise.test(text)) return;
      problems.push(`page error: ${text}`);
    });
    page.on('console', (msg) => {
      if (msg.type() !== 'error' && msg.type() !== 'assert') return;
      const text = msg.text(), url = msg.location()?.url ?? '';
      if (b.healthStatus?.test(text) && url.startsWith(`${origin}/v1/health`)) return;
      if (outage && b.outageNoise.test(text)) return;
      problems.push(`console ${msg.type()}: ${text} (${url})`);
    });
    page.on('request', (req) => {
      const u = req.url();
      if (u.startsWith(`${origin}/`)) seen.add(new URL(u).pathname);
      // data: URLs fetch nothing (chromium's own date picker icon is one).
      else if (!u.startsWith('data:')) problems.push(`request to another origin: ${req.method()} ${u}`);
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (daemon) await daemon.stop();
    if (fake) await fake.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const text = (sel) => page.$eval(sel, (e) => e.textContent.trim());
  const rowArns = () => page.$$eval('#jobs tr[data-arn]', (rows) => rows.map((r) => r.dataset.arn));

  async function apiList(query) {
    const res = await daemon.get(`/model-copy-jobs?${new URLSearchParams({ maxResults: '50', ...query })}`);
    assert.equal(res.status, 200, res.body);
    return res.json;
  }

  async function waitRows(want, what, timeoutMs = 20000) {
    await waitFor(what, async () => JSON.stringify(await rowArns()) === JSON.stringify(want), timeoutMs, 100)
      .catch(async (e) => { throw new Error(`${e.message}\nrows: ${JSON.stringify((await rowArns()).slice(0, 5))}\nwant: ${JSON.stringify(want.slice(0, 5))}`); });
  }

  function assertClean(what) {
    assert.deepEqual(problems, [], `${what}: console errors or foreign requests`);
  }

  test('the page loads from the daemon alone and shows /v1/stats, the sources and the chart', { skip }, async () => {
    const resp = await page.goto(`${origin}/`, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['content-security-policy'], /default-src 'self'; script-src 'self'/);
    assert.equal(resp.headers()['x-content-type-options'], 'nosniff');
    await waitFor('totals', async () => (await text('#total-all')) !== '–', 20000, 100);
    await page.evaluate(() => { window.__notReloaded = true; });

    const stats = (await daemon.get('/v1/stats')).json;
    assert.equal(num(await text('#total-all')), stats.total);
    for (const s of ['InProgress', 'Completed', 'Failed'])
      assert.equal(num(await text(`#total-${s}`)), stats.byStatus[s], s);
    assert.equal(await text('#state'), 'ok');
    assert.match(await text('#age'), /^\d+ s$/);
    const src = await page.$$eval('#sources tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.equal(src.length, 1);
    assert.equal(num(src[0][3]), stats.total);

    // The chart: one bar group per day, their total equals the jobs of those days.
    await waitFor('chart', () => page.$('#chart svg g[data-day]'), 20000, 100);
    const bars = await page.$$eval('#chart svg g[data-day]', (gs) => gs.map((g) => [g.dataset.day, Number(g.dataset.total)]));
    assert.equal(bars.length, 30);
    const first = bars[0][0], last = bars.at(-1)[0];
    // The page's own bounds: strictly after the millisecond before the first day, strictly
    // before the day after the last.
    const q = {
      creationTimeAfter: new Date(Date.parse(`${first}T00:00:00Z`) - 1).toISOString(),
      creationTimeBefore: new Date(Date.parse(`${last}T00:00:00Z`) + 86400000).toISOString(),
      maxResults: '1000',
    };
    let count = 0, token;
    do {
      const r = (await daemon.get(`/model-copy-jobs?${new URLSearchParams({ ...q, ...(token ? { nextToken: token } : {}) })}`)).json;
      count += r.modelCopyJobSummaries.length;
      token = r.nextToken;
    } while (token);
    assert.ok(count > 0, 'the default range has jobs');
    assert.equal(bars.reduce((a, [, n]) => a + n, 0), count);
    assertClean('load');
  });

  test('the console and request checks see what this browser reports', { skip }, async () => {
    // Each browser speaks its own protocol (CDP, WebDriver BiDi): a check that hears nothing
    // would pass everything. A planted console error and uncaught exception must arrive, and
    // the page's own requests must have been seen.
    await page.evaluate((c) => {
      console.error(`${c} console`);
      setTimeout(() => { throw new Error(`${c} thrown`); }, 0);
    }, CANARY);
    await waitFor('the planted errors', () => problems.some((p) => p.startsWith('console error') && p.includes(`${CANARY} console`))
      && problems.some((p) => p.startsWith('page error') && p.includes(`${CANARY} thrown`)), 10000, 50);
    const rest = problems.filter((p) => !p.includes(CANARY));
    problems.length = 0;
    problems.push(...rest);
    await waitFor('the page\'s own requests', () => ['/', '/dashboard/app.js', '/dashboard/app.css', '/v1/events',
      '/v1/stats', '/v1/health', '/model-copy-jobs'].every((p) => seen.has(p)), 20000, 100)
      .catch((e) => { throw new Error(`${e.message}\nseen: ${[...seen].join(' ')}`); });
    assertClean('canary');
  });

  test('two filters give the rows of the list API, page 2 follows nextToken, failures show in full', { skip }, async () => {
    const all = (await apiList({ statusEquals: 'Failed', maxResults: '200' })).modelCopyJobSummaries;
    const name = all[3].targetModelName.slice(0, 6);
    await page.select('#f-status', 'Failed');
    await page.$eval('#f-name', (e) => { e.value = ''; });
    await page.type('#f-name', name);
    await page.click('#apply');
    const p1 = await apiList({ statusEquals: 'Failed', outputModelNameContains: name });
    assert.ok(p1.modelCopyJobSummaries.length > 0);
    await waitRows(p1.modelCopyJobSummaries.map((j) => j.jobArn), 'filtered rows');
    assert.match(await page.evaluate(() => location.hash), /statusEquals=Failed/);

    if (p1.nextToken) {
      await page.click('#older');
      const p2 = await apiList({ statusEquals: 'Failed', outputModelNameContains: name, nextToken: p1.nextToken });
      await waitRows(p2.modelCopyJobSummaries.map((j) => j.jobArn), 'page 2');
      await page.click('#newer');
      await waitRows(p1.modelCopyJobSummaries.map((j) => j.jobArn), 'back to page 1');
    }

    // The failure message in full, as text.
    const job = p1.modelCopyJobSummaries[0];
    await page.click(`#jobs tr[data-arn="${job.jobArn}"] button.details`);
    await waitFor('details', () => page.$(`#jobs tr[data-detail="${job.jobArn}"] pre.failure`), 10000, 50);
    assert.equal(await page.$eval(`#jobs tr[data-detail="${job.jobArn}"] pre.failure`, (e) => e.textContent), job.failureMessage);

    // Two other filters: source account and job region.
    const acct = all[0].sourceAccountId;
    await page.click('#reset');
    await page.type('#f-account', acct);
    await page.type('#f-region', 'us-east-1');
    await page.click('#apply');
    const p3 = await apiList({ sourceAccountEquals: acct, jobRegionEquals: 'us-east-1' });
    await waitRows(p3.modelCopyJobSummaries.map((j) => j.jobArn), 'account + region rows');
    assertClean('filters');
  });

  test('jobs added and finished on AWS appear without a reload', { skip }, async () => {
    await page.click('#reset');
    await waitRows((await apiList({})).modelCopyJobSummaries.map((j) => j.jobArn), 'unfiltered rows');
    await waitFor('live', async () => (await text('#live')) === 'on', 10000, 100);
    const totalBefore = num(await text('#total-all'));

    const t0 = Date.now();
    const added = (await fake.admin('POST', '/jobs/add', { count: 2 })).jobs;
    const newest = added.map((j) => j.jobArn).reverse();
    await waitFor('added rows on top', async () => JSON.stringify((await rowArns()).slice(0, 2)) === JSON.stringify(newest),
      (SYNC_INTERVAL_S + 1) * 1000 * 5, 100);
    const shownAfter = Date.now() - t0;
    assert.equal(num(await text('#total-all')), totalBefore + 2);
    assert.equal(await page.$eval(`#jobs tr[data-arn="${newest[0]}"] .status`, (e) => e.textContent), 'InProgress');

    await fake.admin('POST', '/jobs/finish', { arns: added.map((j) => j.jobArn), status: 'Failed' });
    await waitFor('finished rows', async () => (await page.$$eval('#jobs tr[data-arn] .status',
      (s) => s.slice(0, 2).map((e) => e.textContent))).every((t) => t === 'Failed'), (SYNC_INTERVAL_S + 1) * 1000 * 5, 100);
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
    console.log(`# a job added on the fake showed on the page after ${shownAfter} ms (sync interval ${SYNC_INTERVAL_S} s)`);
    assertClean('live');
  });

  test('sync now runs a sync and shows its result', { skip }, async () => {
    await page.click('#sync-now');
    await waitFor('sync result', async () => /^sync ok in [\d.]+ s: \d+ created, \d+ updated, \d+ removed$/.test(await text('#sync-result')), 30000, 100);
    assertClean('sync now');
  });

  test('the daemon killed and restarted: the page says so, then recovers and catches up', { skip }, async () => {
    outage = true;
    daemon.proc.kill('SIGKILL');
    await daemon.exited;
    await daemon.stop();
    daemon = null;
    await waitFor('the page notices', async () => (await text('#live')) === 'reconnecting', 15000, 100);

    // A change on AWS while the daemon is down.
    const [job] = (await fake.admin('POST', '/jobs/add', { count: 1 })).jobs;
    await sleep(500);
    daemon = await startOurDaemon();
    await waitFor('live again', async () => (await text('#live')) === 'on', 30000, 100);
    outage = false;
    await waitFor('the change made during the outage', async () => (await rowArns())[0] === job.jobArn, 30000, 100);
    await waitFor('state ok', async () => (await text('#state')) === 'ok', 30000, 100);
    const stats = (await daemon.get('/v1/stats')).json;
    await waitFor('totals', async () => num(await text('#total-all')) === stats.total, 20000, 100);
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');

    // And it is live again: the next change arrives through the resumed stream.
    const [next] = (await fake.admin('POST', '/jobs/add', { count: 1 })).jobs;
    await waitFor('a change after the restart', async () => (await rowArns())[0] === next.jobArn, 30000, 100);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    const shot = join(ARTIFACTS, `dashboard-${b.name}.png`);
    rmSync(shot, { force: true });
    await page.screenshot({ path: shot, fullPage: false });
    assert.deepEqual(pngSize(shot), VIEWPORT, 'the screenshot is the viewport');
    console.log(`# screenshot: ${shot}`);
    assertClean('restart');
  });

  test('text from AWS is inserted as text, never as HTML', { skip }, async () => {
    // The page has no way to turn data into markup: no element was created from a job's fields.
    const injected = await page.evaluate(() => document.querySelectorAll('#jobs script, #jobs img, #jobs iframe, #sources script').length);
    assert.equal(injected, 0);
    const src = (await (await fetch(`${origin}/dashboard/app.js`)).text());
    assert.doesNotMatch(src, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });
}
