// Baseline 2: baseline 1 plus one side call per response, the physical limit
// for scenario (c), where every response costs two subrequests. After the
// response is handed back, `ctx.waitUntil` POSTs a fixed small JSON body to
// the stand-in's annotate URL, so the stand-in does exactly the work it does
// for the real worker. The assessment ID in that URL is the text after the
// last ":U=" of X-Recaptcha-Token (no validation, unlike the worker): the
// benchmark needs it to count calls per response and measure delivery lag.
// The answer is read to its end inside waitUntil, the cheapest way to end a
// call: the connection is then reused, which a body left unread or
// cancelled does not allow.
const BODY = '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}';

export default {
  async fetch(request, env, ctx) {
    const url = request.url;
    const target = env.ORIGIN_URL + url.slice(url.indexOf('/', 8));
    const response = await fetch(target, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual' });
    const token = request.headers.get('x-recaptcha-token') ?? '';
    const id = token.slice(token.lastIndexOf(':U=') + 3);
    ctx.waitUntil(
      fetch(`${env.ANNOTATE_BASE}/${id}:annotate?key=${env.API_KEY}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: BODY,
      }).then((r) => r.arrayBuffer()),
    );
    return response;
  },
};
