// Baseline for bench/proxy.mjs: the least a proxying worker can do (plain JS,
// no token or outcome handling), run in the same wrangler dev/workerd stack,
// so the ratio isolates the cost of this project's worker.
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    const origin = new URL(env.ORIGIN_URL);
    url.protocol = origin.protocol;
    url.host = origin.host;
    return fetch(new Request(url, request), { redirect: 'manual' });
  },
};
