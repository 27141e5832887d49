// Bound beside the worker under test as UPSTREAM, or run alone: answers with
// the `cf` object of the request it got (null when there is none) and the
// request's headers, so a test can compare what a Worker behind this one
// sees with what a Worker called directly sees.
export default {
  fetch(request) {
    return Response.json({ cf: request.cf ?? null, headers: Object.fromEntries(request.headers) });
  },
};
