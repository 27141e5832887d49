// A Tail Worker bound to the worker under test (tail_consumers): it gets the
// worker's console calls as the runtime traced them, the same trace items
// Workers Logs indexes and `wrangler tail --format json` prints, and writes
// each logged event object back out as one JSON line, which is what the
// tests read (local/worker.mjs parseEvent). `wrangler dev` itself prints a
// logged object in its multi-line inspect form. An event logged as a JSON
// string instead is not printed as an event, but named as such
// (local/worker.mjs STRING_EVENT).
export default {
  tail(traces) {
    for (const trace of traces) {
      for (const { message } of trace.logs) {
        for (const arg of message) {
          if (arg !== null && typeof arg === 'object' && typeof arg.event === 'string') {
            console.log(JSON.stringify(arg));
          } else if (typeof arg === 'string' && arg.startsWith('{"level"')) {
            console.log('log-tail: an event was logged as a string, not as an object');
          }
        }
      }
    }
  },
};
