// The whole loop as a person sees it: headless Chromium drives the demo shop
// through the worker and the reCAPTCHA WAF worker in workerd, and the page's
// live panel must show, for each assessment ID, the assessment the WAF made
// beside the annotation that went back for it (none for a blocked request).
// Saves a screenshot to tests/artifacts/demo.png (and demo.jpg, which is
// docs/demo.jpg when copied there).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startDemo } from '../../local/demo.mjs';
import { ROOT } from '../../local/worker.mjs';

const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
let demo;
let browser;
let page;
const responses = []; // every response the browser received: url + all headers
const offsite = []; // any request that tried to leave 127.0.0.1

before(async () => {
  demo = await startDemo();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1') return route.continue();
    offsite.push(route.request().url());
    return route.abort();
  });
  page.on('response', async (r) => responses.push({ url: r.url(), headers: await r.allHeaders() }));
  await page.goto(demo.url);
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The annotate calls the panel shows for one assessment, oldest first, once `count` are shown. */
async function panelRows(id, count) {
  await page.waitForFunction(
    ([a, n]) => document.querySelectorAll(`#calls tr[data-assessment="${a}"] .call`).length >= n,
    [id, count],
    { timeout: 20_000 },
  );
  return page.$$eval(`#calls tr[data-assessment="${id}"] .call`, (calls) => calls.map((c) => ({
    status: Number(c.dataset.status),
    label: c.querySelector('.label').textContent,
    reasons: c.querySelector('.reasons').textContent,
    body: c.querySelector('.body').textContent,
    rule: c.dataset.rule ?? null,
  })));
}

/** The panel's assessment cells for one ID, once the WAF's assessment is shown. */
async function assessmentCells(id) {
  const row = `#calls tr[data-assessment="${id}"]`;
  await page.waitForFunction((r) => document.querySelector(r)?.dataset.policy, row, { timeout: 20_000 });
  return page.$eval(row, (tr) => ({
    policy: tr.dataset.policy,
    action: tr.querySelector('.action').textContent,
    score: tr.querySelector('.score').textContent,
    annotations: tr.querySelector('.annotations').textContent,
  }));
}

async function signIn(password) {
  await page.fill('#password', password);
  const previous = await page.getAttribute('#login-result', 'data-assessment');
  await page.click('#login-button');
  await page.waitForFunction((p) => {
    const id = document.querySelector('#login-result').dataset.assessment;
    return id && id !== p;
  }, previous);
  return page.getAttribute('#login-result', 'data-assessment');
}

test('the page plays the WAF script: a session cookie and a 16-character ID', async () => {
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'recaptcha-cf-t');
  assert.ok(session, 'no recaptcha-cf-t cookie');
  const id = await page.textContent('#session-id');
  assert.match(id, /^[A-Za-z0-9]{16}$/);
  assert.ok(decodeURIComponent(session.value).endsWith(`:U=${id}`));
});

test('a wrong password: the WAF\'s assessment (login, 0.9, allow) beside FRAUDULENT / INCORRECT_PASSWORD for the same ID; then the right one LEGITIMATE', async () => {
  const wrong = await signIn('hunter2');
  const [fraud] = await panelRows(wrong, 1);
  assert.deepEqual([fraud.status, fraud.label, fraud.reasons], [200, 'FRAUDULENT', 'INCORRECT_PASSWORD']);
  assert.equal(fraud.body, '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}');
  const cells = await assessmentCells(wrong);
  assert.deepEqual([cells.policy, cells.action, cells.score], ['allow', 'login', '0.9']);
  // The stand-in is in strict-loop mode: the annotation was accepted because the WAF created this assessment.
  assert.deepEqual(demo.api.assessments.filter((a) => a.id === wrong).map((a) => a.siteKey), ['action-site-key']);

  const right = await signIn('correct horse');
  assert.notEqual(right, wrong);
  const [legit] = await panelRows(right, 1);
  assert.deepEqual([legit.status, legit.label, legit.reasons], [200, 'LEGITIMATE', 'CORRECT_PASSWORD']);
  assert.equal(await page.getAttribute('#outcome-verdict', 'data-leaked'), 'false');
});

/** Signs in through the form whose backend sends no outcome header. */
async function signInWithoutHeader(password) {
  await page.fill('#rules-password', password);
  const previous = await page.getAttribute('#rules-result', 'data-assessment');
  await page.click('#rules-button');
  await page.waitForFunction((p) => {
    const id = document.querySelector('#rules-result').dataset.assessment;
    return id && id !== p;
  }, previous);
  return page.getAttribute('#rules-result', 'data-assessment');
}

test('a sign-in whose backend sends no outcome header: outcome rules annotate it, and the panel names each rule', async () => {
  const wrong = await signInWithoutHeader('hunter2');
  const [w] = await panelRows(wrong, 1);
  assert.deepEqual([w.status, w.label, w.reasons, w.rule], [200, '—', 'INCORRECT_PASSWORD', 'form-password-wrong']);
  assert.equal(w.body, '{"reasons":["INCORRECT_PASSWORD"],"accountId":"ada@example.com"}');
  const right = await signInWithoutHeader('correct horse');
  const [r] = await panelRows(right, 1);
  assert.deepEqual([r.status, r.reasons, r.rule], [200, 'CORRECT_PASSWORD', 'form-password-right']);
  assert.equal(r.body, '{"reasons":["CORRECT_PASSWORD"],"accountId":"ada@example.com"}');
});

test('a bot\'s sign-in is blocked by the WAF: the panel shows its assessment as blocked, with no annotation', async () => {
  const before = demo.origin.received.length;
  await page.click('#bot-button');
  await page.waitForFunction(() => document.querySelector('#bot-result').dataset.assessment);
  const id = await page.getAttribute('#bot-result', 'data-assessment');
  assert.match(await page.textContent('#bot-result'), /Blocked by the WAF \(HTTP 403\)/);
  const cells = await assessmentCells(id);
  assert.deepEqual([cells.policy, cells.action, cells.score], ['block', 'login', '0.1']);
  assert.match(cells.annotations, /none: blocked/);
  await page.waitForTimeout(1500); // several polls of the panel
  assert.equal(await page.$$eval(`#calls tr[data-assessment="${id}"] .call`, (c) => c.length), 0);
  assert.deepEqual(demo.api.callsFor(id), []);
  assert.ok(!demo.origin.received.slice(before).some((t) => t.startsWith('/login')), 'the shop saw the blocked sign-in');
});

test('with the API failing 503, the panel shows the retries and then the delivery', async () => {
  await page.selectOption('#fail-mode', '503');
  await page.waitForResponse((r) => r.url().endsWith('/demo/api-fail'));
  await page.click('#checkout-button');
  await page.waitForFunction(() => document.querySelector('#checkout-result').dataset.assessment);
  const id = await page.getAttribute('#checkout-result', 'data-assessment');
  const rows = await panelRows(id, 3);
  assert.deepEqual(rows.map((r) => r.status), [503, 503, 200]);
  assert.ok(rows.every((r) => r.label === 'LEGITIMATE' && r.reasons === 'TRANSACTION_ACCEPTED'));
  assert.equal(JSON.parse(rows[2].body).transactionEvent.eventType, 'PAYMENT_CAPTURE');
});

test('a chargeback reported later goes through the batch endpoint to the order\'s assessment', async () => {
  const id = await page.getAttribute('#checkout-result', 'data-assessment');
  await page.click('#chargeback-button');
  await page.waitForFunction(() => document.querySelector('#chargeback-result').textContent.includes('HTTP 202'));
  assert.match(await page.textContent('#chargeback-result'), /"accepted":1,"rejected":\[\]/);
  const rows = await panelRows(id, 4);
  const late = rows[3];
  assert.deepEqual([late.status, late.label, late.reasons], [200, 'FRAUDULENT', 'CHARGEBACK_FRAUD']);
  assert.equal(JSON.parse(late.body).assessment, undefined);
});

test('no response the browser saw carried the outcome header, and nothing left localhost', async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'demo.png'), fullPage: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'demo.jpg'), type: 'jpeg', quality: 55, fullPage: true });
  const worker = responses.filter((r) => r.url.startsWith(demo.worker.url));
  assert.ok(worker.length >= 10, `only ${worker.length} responses seen`);
  for (const r of worker) assert.equal(r.headers['x-recaptcha-outcome'], undefined, r.url);
  assert.deepEqual(offsite, []);
});
