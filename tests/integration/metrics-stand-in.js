// The built worker behind a stand-in for its ANNOTATION_METRICS Analytics
// Engine dataset. wrangler dev binds a dataset that drops every write
// unchecked, so this one checks each data point as workerd does (at most one
// index of at most 96 bytes, at most 20 blobs of at most 5,120 bytes in all,
// at most 20 doubles) and throws the same TypeError when it does not fit,
// synchronously, inside the worker's own call. It is stricter in two ways:
// unknown fields and a double that is not a number are refused too.
//   GET /__stand-in/metrics               the points written so far
//   POST /__stand-in/metrics?refuse=1|0   every write throws from now on, or not
import worker from '../../build/index.js';

const points = [];
let refusing = false;
const encoder = new TextEncoder();

function refuse(why) {
  throw new TypeError(`writeDataPoint(): ${why}`);
}

/** A blob or index: a string or an ArrayBuffer; its size in bytes. */
function size(value, what) {
  if (typeof value === 'string') return encoder.encode(value).length;
  if (value instanceof ArrayBuffer) return value.byteLength;
  return refuse(`${what} is neither a string nor an ArrayBuffer`);
}

function check(point) {
  if (point === undefined) return;
  if (point === null || typeof point !== 'object') refuse('the data point is not an object');
  for (const key of Object.keys(point)) {
    if (!['indexes', 'blobs', 'doubles'].includes(key)) refuse(`unknown field ${key}`);
  }
  const { indexes = [], blobs = [], doubles = [] } = point;
  for (const [name, list] of [['indexes', indexes], ['blobs', blobs], ['doubles', doubles]]) {
    if (!Array.isArray(list)) refuse(`${name} is not an array`);
  }
  if (indexes.length > 1) refuse('Maximum of 1 indexes supported.');
  if (indexes.length === 1 && indexes[0] !== null && size(indexes[0], 'indexes[0]') > 96) {
    refuse('Size of indexes[0] exceeds 96 bytes).');
  }
  if (blobs.length > 20) refuse('Maximum of 20 blobs supported.');
  let total = 0;
  blobs.forEach((blob, i) => {
    if (blob === null) return;
    total += size(blob, `blobs[${i}]`);
    if (total > 5120) refuse('Cumulative size of blobs exceeds 5120 bytes).');
  });
  if (doubles.length > 20) refuse('Maximum of 20 doubles supported.');
  doubles.forEach((d, i) => { if (typeof d !== 'number') refuse(`doubles[${i}] is not a number`); });
}

const dataset = {
  writeDataPoint(point) {
    if (refusing) refuse('the stand-in refuses every write (POST /__stand-in/metrics?refuse=1)');
    check(point);
    points.push(structuredClone(point));
  },
};

const withDataset = (env) => ({ ...env, ANNOTATION_METRICS: dataset });

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/__stand-in/metrics') {
      if (request.method === 'POST') refusing = url.searchParams.get('refuse') === '1';
      return Response.json(points);
    }
    return worker.fetch(request, withDataset(env), ctx);
  },
  queue(batch, env, ctx) {
    return worker.queue(batch, withDataset(env), ctx);
  },
};
