// The configs as wrangler reads them: wrangler.jsonc, and every config the
// README tells an operator to write, taken from README.md itself. Any line
// wrangler prints while reading one (a warning such as "Unexpected fields
// found in build field") fails the test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { parseJsonc } from '../../local/jsonc.mjs';
import { COMPATIBILITY_DATE } from '../../local/worker.mjs';
import {
  ROOT, codeBlocks, experimental_readRawConfig, readConfig, readConfigText, readmeSection,
} from './wrangler.mjs';

const CONFIG = path.join(ROOT, 'wrangler.jsonc');
const CONFIG_TEXT = fs.readFileSync(CONFIG, 'utf8');

/** Reads a config and asserts wrangler printed nothing while reading it. */
function readClean(read) {
  const { config, printed } = read();
  assert.deepEqual(printed, [], `wrangler printed diagnostics:\n${printed.join('\n')}`);
  return config;
}

/** The README's route line (Deploy, step 2), exactly as written there. */
function readmeRouteLine() {
  const spans = [...readmeSection('Deploy').matchAll(/`("routes":[^`]*)`/g)].map((m) => m[1]);
  assert.equal(spans.length, 1, 'README "Deploy" shows one routes line');
  return spans[0];
}

/** wrangler.jsonc with its commented routes line uncommented, as the README says. */
function withRoute() {
  const route = readmeRouteLine();
  const commented = `  // ${route}\n`;
  assert.ok(CONFIG_TEXT.includes(commented), `wrangler.jsonc comments out the README's route: ${route}`);
  return { text: CONFIG_TEXT.replace(commented, `  ${route}\n`), route };
}

const ROUTE = [{ pattern: 'shop.example.com/*', zone_name: 'example.com' }];

test('wrangler reads wrangler.jsonc without a diagnostic: workers.dev off, no route until one is set', () => {
  const c = readClean(() => readConfig(CONFIG));
  console.log(`wrangler read wrangler.jsonc: ${JSON.stringify({ workers_dev: c.workers_dev, routes: c.routes })}`);
  assert.equal(c.workers_dev, false);
  assert.equal(c.routes, undefined);
  assert.equal(c.name, 'recaptcha-annotate-edge');
  assert.equal(c.main, path.join(ROOT, 'build', 'index.js'));
  assert.equal(c.build.command, 'sh scripts/build.sh');
  assert.equal(c.no_bundle, true, 'build/ is uploaded as built');
  assert.equal(c.observability.enabled, true);
  assert.deepEqual(c.version_metadata, { binding: 'CF_VERSION_METADATA' });
  assert.deepEqual(c.queues.producers.map((p) => p.binding), ['ANNOTATIONS', 'ANNOTATIONS_DLQ']);
  assert.deepEqual(c.queues.consumers.map((q) => [q.queue, q.dead_letter_queue]),
    [['recaptcha-annotations', 'recaptcha-annotations-dlq']]);
  assert.equal(c.vars.RECAPTCHA_PROJECT_ID, 'your-project-id');
});

test("the README's route, uncommented in wrangler.jsonc, is the route wrangler deploys to", () => {
  const { text, route } = withRoute();
  const c = readClean(() => readConfigText('wrangler.jsonc', text));
  console.log(`README route ${route} -> wrangler read: ${JSON.stringify({ workers_dev: c.workers_dev, routes: c.routes })}`);
  assert.deepEqual(c.routes, ROUTE);
  assert.equal(c.workers_dev, false);
});

test("the README's metrics binding, uncommented in wrangler.jsonc, is the Analytics Engine dataset wrangler binds", () => {
  const blocks = codeBlocks(readmeSection('Operate'), 'jsonc');
  assert.equal(blocks.length, 1, 'the section shows one jsonc line, under "Metrics"');
  const line = blocks[0].trim();
  const commented = `  // ${line}\n`;
  assert.ok(CONFIG_TEXT.includes(commented), `wrangler.jsonc comments out the README's metrics line: ${line}`);
  const c = readClean(() => readConfigText('wrangler.jsonc', CONFIG_TEXT.replace(commented, `  ${line}\n`)));
  assert.deepEqual(c.analytics_engine_datasets, [{ binding: 'ANNOTATION_METRICS', dataset: 'recaptcha_annotations' }]);
});

test("the WAF chain's config for this worker, from the README, binds UPSTREAM to recaptcha-waf", () => {
  const section = readmeSection('Deploy with reCAPTCHA WAF on Cloudflare');
  const blocks = codeBlocks(section, 'jsonc');
  assert.equal(blocks.length, 1, 'the section shows one jsonc fragment for this worker');
  const { text, route } = withRoute();
  // "below the routes line", as the README puts it.
  const chained = text.replace(`  ${route}\n`, `  ${route}\n  ${blocks[0].trim()}\n`);
  const c = readClean(() => readConfigText('wrangler.jsonc', chained));
  assert.deepEqual(c.services, [{ binding: 'UPSTREAM', service: 'recaptcha-waf' }]);
  assert.deepEqual(c.routes, ROUTE);
  assert.equal(c.workers_dev, false);
});

test("Google's recaptcha-waf config, from the README, has no route and no workers.dev URL", () => {
  const blocks = codeBlocks(readmeSection('Deploy with reCAPTCHA WAF on Cloudflare'), 'toml');
  assert.equal(blocks.length, 1, "the section shows Google's wrangler.toml");
  // Followed by the [vars] table Google's file has, as the README says to keep it.
  const text = `${blocks[0]}\n[vars]\nPROJECT_NUMBER = "123456789"\n`;
  const c = readClean(() => readConfigText('wrangler.toml', text));
  assert.equal(c.name, 'recaptcha-waf', 'the name the UPSTREAM binding uses');
  assert.equal(c.workers_dev, false);
  assert.equal(c.routes, undefined);
  assert.equal(c.route, undefined);
  assert.deepEqual(c.compatibility_flags, ['nodejs_compat']);
  assert.equal(c.vars.PROJECT_NUMBER, '123456789');
});

test('the reader reports a key that TOML puts into a table, which wrangler ignores', () => {
  const { config, printed } = readConfigText('wrangler.toml', [
    'name = "recaptcha-annotate-edge"',
    'main = "build/index.js"',
    'compatibility_date = "2026-04-01"',
    '[build]',
    'command = "sh scripts/build.sh"',
    'workers_dev = false',
  ].join('\n'));
  assert.equal(config.workers_dev, undefined, 'wrangler did not see workers_dev');
  assert.match(printed.join('\n'), /Unexpected fields found in build field: "workers_dev"/);
});

test('the local stack reads wrangler.jsonc as wrangler does', () => {
  const { rawConfig } = experimental_readRawConfig({ config: CONFIG });
  assert.deepEqual(parseJsonc(CONFIG_TEXT), rawConfig);
  assert.equal(COMPATIBILITY_DATE, rawConfig.compatibility_date);
});
