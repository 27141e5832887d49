// A tail consumer of the worker under test that puts raw messages into a
// queue: after a request whose URL has `?inject=<JSON>`, that JSON is sent as
// it is to the queue bound as TARGET. For messages the worker itself would
// never send (replay_loops.test.mjs); a tail consumer sees every invocation
// of any build of the worker without the worker's help.
export default {
  async tail(events, env) {
    for (const { event } of events) {
      const url = event?.request?.url;
      const raw = url ? new URL(url).searchParams.get('inject') : null;
      if (raw !== null) await env.TARGET.send(JSON.parse(raw), { contentType: 'json' });
    }
  },
};
