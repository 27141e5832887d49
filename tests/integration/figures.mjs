// Shared by the load, fault and bad-input tests: queue mode's wrangler
// config, a bounded-concurrency runner, raw HTTP exchanges, and the counts
// each scenario prints as one `figure {...}` line, so the figures in
// RELIABILITY.md can be read back from any CI log.

import net from 'node:net';

/**
 * Queue mode as wrangler.jsonc ships it (batches of 100, 10 consumers, the
 * DLQ), but with second-scale delays so retries fit in a test run, and
 * LOG_LEVEL=debug: the figures count annotation_enqueued and
 * annotation_retrying lines.
 */
export function queueMode({ maxAttempts = 20, baseSeconds = 1, maxSeconds = 2 } = {}) {
  return {
    vars: {
      QUEUE_RETRY_BASE_SECONDS: String(baseSeconds),
      QUEUE_RETRY_MAX_SECONDS: String(maxSeconds),
      QUEUE_MAX_ATTEMPTS: String(maxAttempts),
      DEAD_LETTER_QUEUE: 'annotations-dlq',
      LOG_LEVEL: 'debug',
    },
    config: {
      queues: {
        producers: [
          { binding: 'ANNOTATIONS', queue: 'annotations' },
          { binding: 'ANNOTATIONS_DLQ', queue: 'annotations-dlq' },
        ],
        consumers: [{
          queue: 'annotations', max_batch_size: 100, max_batch_timeout: 1, max_concurrency: 10,
          max_retries: 10, retry_delay: 1, dead_letter_queue: 'annotations-dlq',
        }],
      },
    },
  };
}

/** Runs fn(i) for i in 0..n-1, at most `concurrency` at a time; results in order. */
export async function pool(n, concurrency, fn) {
  const results = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
  return results;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls until pred() holds or `ms` pass; returns whether it held. */
export async function until(pred, ms, every = 100) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await sleep(every);
  }
  return true;
}

/**
 * The `annotation` log events for `ids` (one Set), counted:
 * delivered / rejected / gave_up are final results; retried counts
 * annotations that needed more than one attempt; extra_attempts the
 * attempts beyond the first; dead_lettered those sent to the DLQ.
 * In queue mode `requeued` counts annotation_retrying events.
 */
export function tally(events, ids) {
  const mine = events.filter((e) => ids.has(e.assessment));
  const ended = mine.filter((e) => e.event === 'annotation');
  const count = (pred) => ended.filter(pred).length;
  return {
    ended: ended.length,
    delivered: count((e) => e.result === 'delivered'),
    rejected: count((e) => e.result === 'rejected'),
    gave_up: count((e) => e.result === 'gave_up'),
    retried: count((e) => e.attempts > 1),
    extra_attempts: ended.reduce((n, e) => n + e.attempts - 1, 0),
    dead_lettered: count((e) => e.dead_lettered === true),
    requeued: mine.filter((e) => e.event === 'annotation_retrying').length,
  };
}

/** Prints one scenario's figures as a single line: `figure {"scenario":…}`. */
export function figure(scenario, fields) {
  console.log(`figure ${JSON.stringify({ scenario, ...fields })}`);
}

/**
 * Sends `bytes` as they are on a fresh connection (fetch refuses some of
 * what a hostile client can send) and returns the response as latin1 text,
 * as soon as it is complete (by Content-Length, the last chunk, or no body
 * for HEAD), when the server closes, or after `ms`; with `until(buf)`, as
 * soon as that holds instead (e.g. a WebSocket frame after a 101).
 */
export function rawExchange(port, bytes, { head = false, ms = 10_000, until: enough } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const done = () => { clearTimeout(timer); socket.destroy(); resolve(buf.toString('latin1')); };
    const timer = setTimeout(done, ms);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (enough) return enough(buf) ? done() : undefined;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headText = buf.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
      const status = Number(headText.slice(9, 12));
      if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) return done();
      if (length && buf.length >= end + 4 + Number(length[1])) return done();
      if (/\r\ntransfer-encoding:\s*chunked/i.test(headText) && buf.subarray(-5).toString() === '0\r\n\r\n') return done();
      return undefined;
    });
    socket.on('error', (e) => { clearTimeout(timer); reject(e); });
    socket.on('close', done);
    socket.write(bytes);
  });
}

/**
 * A complete raw HTTP/1.1 response (as `rawExchange` returns it, latin1):
 * status, headers as [name, value] pairs in order (values as latin1 text),
 * and the body, de-chunked when chunked.
 */
export function parseResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const statusText = /^HTTP\/1\.1 \d{3} ?(.*)$/.exec(statusLine)?.[1];
  const headers = lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
  let body = Buffer.from(text.slice(end + 4), 'latin1');
  if (headers.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v))) {
    const parts = [];
    let i = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', i);
      const size = parseInt(body.subarray(i, eol).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      i = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status, statusText, headers, header: (name) => headers.filter(([n]) => n === name).map(([, v]) => v), body };
}
