// Baseline 1: the least a proxying Worker can do. It forwards the request to
// the origin unchanged (method, headers, streamed body, redirects handed
// back) and returns the origin's response as it is. Every cost above this is
// the cost of the worker under test, so it is the physical limit in
// bench/run.mjs. ORIGIN_URL is "http://host:port" with no trailing slash.
export default {
  fetch(request, env) {
    const url = request.url;
    // Keep the path and query ("http://" is 7 characters: the first "/" after it).
    const target = env.ORIGIN_URL + url.slice(url.indexOf('/', 8));
    return fetch(target, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual' });
  },
};
