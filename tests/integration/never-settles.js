// The built worker, with each origin fetch replaced by a promise that never
// settles and that nothing else holds: what a request becomes on Cloudflare
// when its client goes away mid-fetch and the runtime drops it. It counts
// the continuations the worker hands to that promise's `then`, and how many
// of them the garbage collector has freed (cancelled.test.mjs).
import worker from '../../build/index.js';

let handed = 0;
let freed = 0;
const collected = new FinalizationRegistry(() => { freed += 1; });

class NeverSettles extends Promise {
  // Promises derived with `then` are plain ones: only the worker's calls count.
  static get [Symbol.species]() { return Promise; }

  then(onFulfilled, onRejected) {
    if (typeof onFulfilled === 'function') {
      handed += 1;
      collected.register(onFulfilled, null);
    }
    return super.then(onFulfilled, onRejected);
  }
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/__continuations') {
      // Garbage, so that the collector runs and finalizers follow.
      let sum = 0;
      for (let i = 0; i < Number(url.searchParams.get('garbageMb') ?? 0); i++) sum += new Array(131072).fill(i).length;
      return Response.json({ handed, freed, sum });
    }
    const real = globalThis.fetch;
    globalThis.fetch = () => new NeverSettles(() => {});
    try {
      return worker.fetch(request, env, ctx);
    } finally {
      globalThis.fetch = real;
    }
  },
};
