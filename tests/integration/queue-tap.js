// A queue consumer that only observes: prints each message exactly as the
// worker enqueued it, as a log event the tests read (security.test.mjs).
export default {
  async queue(batch) {
    for (const m of batch.messages) {
      console.log(JSON.stringify({ level: 'info', event: 'queue_tap', message: m.body }));
      m.ack();
    }
  },
};
