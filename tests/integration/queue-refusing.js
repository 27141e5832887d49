// The built worker with an ANNOTATIONS queue that refuses every message, as
// a Cloudflare queue does when it is overloaded or over its limits; wrangler
// dev's queues always accept. The binding's class is named WorkerQueue, the
// name workers-rs checks a queue binding by, and each call is checked as the
// runtime checks it (a body, a content type it knows, a delay within 12
// hours) before it is refused as the runtime refuses: a rejected promise.
//   GET /__stand-in/queue   the messages offered so far
import worker from '../../build/index.js';

const offered = [];
const CONTENT_TYPES = ['json', 'text', 'bytes', 'v8'];

function check({ body, contentType, delaySeconds = 0 }) {
  if (body === undefined) throw new TypeError('send(): a message needs a body');
  if (!CONTENT_TYPES.includes(contentType)) throw new TypeError(`send(): unknown contentType ${contentType}`);
  if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 43_200) {
    throw new TypeError(`send(): delaySeconds ${delaySeconds} is out of range`);
  }
}

class WorkerQueue {
  async send(body, options = {}) {
    check({ body, ...options });
    offered.push(structuredClone(body));
    throw new Error('Queue send failed: the stand-in queue refuses every message');
  }

  async sendBatch(messages, options = {}) {
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > 100) {
      throw new TypeError('sendBatch(): 1 to 100 messages');
    }
    for (const m of messages) check({ ...options, ...m });
    offered.push(...messages.map((m) => structuredClone(m.body)));
    throw new Error('Queue sendBatch failed: the stand-in queue refuses every message');
  }
}

const queue = new WorkerQueue();
const withQueue = (env) => ({ ...env, ANNOTATIONS: queue });

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__stand-in/queue') return Response.json(offered);
    return worker.fetch(request, withQueue(env), ctx);
  },
};
