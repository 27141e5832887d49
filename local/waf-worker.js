// A test double of Google's reCAPTCHA WAF worker for Cloudflare
// (`recaptcha-waf`, repository GoogleCloudPlatform/recaptcha-edge), written
// here for the tests, the demo and the benchmark. It does what that worker
// does on the paths this project relies on, as read in its source, and no
// more, so that nothing passes here only because of the double:
//
//   configuration  the same variables: PROJECT_NUMBER, API_KEY,
//                  ACTION_SITE_KEY, SESSION_SITE_KEY, CHALLENGE_PAGE_SITE_KEY,
//                  EXPRESS_SITE_KEY, RECAPTCHA_ENDPOINT, SESSION_JS_INSTALL_PATH
//   policies       lists the project's firewall policies; the first whose path
//                  matches decides: condition "" or true: its actions, false:
//                  the next one, anything else: createAssessment. None: allow
//   token          X-Recaptcha-Token (with ACTION_SITE_KEY), else a
//                  recaptcha-*-e cookie (CHALLENGE_PAGE_SITE_KEY), else a
//                  recaptcha-*-t cookie (SESSION_SITE_KEY), else express
//                  (EXPRESS_SITE_KEY), else allow without a call
//   actions        allow; block (403, empty body, the origin is not asked);
//                  setHeader (appended to the request); substitute (path);
//                  injectjs (enterprise.js appended to <head> by HTMLRewriter,
//                  also on paths matching SESSION_JS_INSTALL_PATH)
//   failures       any failure while choosing the actions means allow;
//                  a failure after that (the origin fetch) is thrown
//   origin         fetch(request): the request's own URL
//   response       rebuilt from status, statusText, one value per header name
//                  (so only the last Set-Cookie survives) and the body; a 101
//                  cannot be rebuilt, so a WebSocket upgrade fails (throws)
//
// Not imitated: the redirect action (Google's challenge page; throws here),
// Cloudflare's cache for the policy list (kept in memory for its 600 s
// instead), the password-check path, debug output.

const DEFAULT_ENDPOINT = 'https://recaptchaenterprise.googleapis.com';
const RECAPTCHA_JS = 'https://www.google.com/recaptcha/enterprise.js';
const ENVIRONMENT = { client: 'recaptcha-annotate-edge test WAF', version: '1' };
const ALLOW = { allow: {} };
const POLICY_TTL_MS = 600_000;

/** A path or cookie-name glob as picomatch reads it: `**` spans segments, `*` and `?` stay in one. */
export function glob(pattern) {
  const source = pattern.replace(/\*\*|[*?]|[.+^${}()|[\]\\]/g, (t) =>
    ({ '**': '.*', '*': '[^/]*', '?': '[^/]' })[t] ?? `\\${t}`);
  return new RegExp(`^${source}$`);
}

const SESSION_COOKIE = glob('recaptcha-*-t');
const CHALLENGE_COOKIE = glob('recaptcha-*-e');

let policyCache = null; // { at, list }: the last successful listing

const endpoint = (env) => env.RECAPTCHA_ENDPOINT ?? DEFAULT_ENDPOINT;
const pathOf = (request) => new URL(request.url).pathname;
// Google's worker puts the key into the URL as it is: a real key needs no escaping.
const apiUrl = (env, rest) => `${endpoint(env)}/v1/projects/${env.PROJECT_NUMBER}/${rest}key=${env.API_KEY}`;

/** The token and site key the assessment is for, in Google's precedence. */
function siteInfo(request, env) {
  const actionToken = request.headers.get('X-Recaptcha-Token');
  if (env.ACTION_SITE_KEY && actionToken) {
    return { token: actionToken, siteKey: env.ACTION_SITE_KEY, wafTokenAssessment: true };
  }
  let challenge;
  let session;
  for (const cookie of request.headers.get('cookie')?.split(';') ?? []) {
    // As Google's parser: the value ends at its next '=' (a raw `:U=` cuts
    // the token there), and a cookie without '=' throws.
    const [name, value] = cookie.split('=');
    if (SESSION_COOKIE.test(name.trim())) session = value.trim();
    else if (CHALLENGE_COOKIE.test(name.trim())) challenge = value.trim();
  }
  if (env.CHALLENGE_PAGE_SITE_KEY && challenge) {
    return { token: challenge, siteKey: env.CHALLENGE_PAGE_SITE_KEY, wafTokenAssessment: true };
  }
  if (env.SESSION_SITE_KEY && session) {
    return { token: session, siteKey: env.SESSION_SITE_KEY, wafTokenAssessment: true };
  }
  if (env.EXPRESS_SITE_KEY) return { siteKey: env.EXPRESS_SITE_KEY, express: true };
  throw new Error('no site key matches the request\'s token, and express is not enabled');
}

/** The createAssessment body: the token, then what the request shows. */
function assessmentRequest(request, env) {
  const headers = [];
  request.headers.forEach((value, name) => headers.push(`${name}:${value}`));
  return {
    event: {
      ...siteInfo(request, env),
      userIpAddress: request.headers.get('CF-Connecting-IP') ?? undefined,
      headers,
      ja3: request.cf?.bot_management?.ja3_hash ?? undefined,
      requestedUri: request.url,
      userAgent: request.headers.get('user-agent') ?? undefined,
      firewallPolicyEvaluation: true,
    },
    assessmentEnvironment: ENVIRONMENT,
  };
}

/** JSON of an API answer; Google's error envelope becomes an exception whatever the status. */
async function apiJson(response) {
  const json = await response.json();
  if (json?.error !== undefined) throw new Error(`reCAPTCHA API: ${json.error.message}`);
  return json;
}

async function firewallPolicies(env) {
  if (policyCache && Date.now() - policyCache.at < POLICY_TTL_MS) return policyCache.list;
  const response = await fetch(apiUrl(env, 'firewallpolicies?page_size=1000&'), {
    cf: { cacheEverything: true, cacheTtlByStatus: { '200-299': 600, 404: 1, '500-599': 0 } },
  });
  const list = (await apiJson(response)).firewallPolicies ?? [];
  if (response.ok) policyCache = { at: Date.now(), list };
  return list;
}

/** The actions a listed policy decides without reCAPTCHA, or null when it needs an assessment. */
async function localActions(request, env) {
  let list;
  try {
    list = await firewallPolicies(env);
  } catch {
    return null;
  }
  const path = pathOf(request);
  for (const policy of list) {
    if (policy.path && !glob(policy.path).test(path)) continue;
    const condition = policy.condition?.trim().toLowerCase() ?? '';
    if (condition === '' || condition === 'true') return [...(policy.actions ?? [])];
    if (condition !== 'false') return null;
  }
  return [ALLOW];
}

async function assessedActions(request, env) {
  const response = await fetch(apiUrl(env, 'assessments?'), {
    method: 'POST',
    body: JSON.stringify(assessmentRequest(request, env)),
    headers: { 'content-type': 'application/json;charset=UTF-8' },
  });
  const assessment = await apiJson(response);
  return [...(assessment.firewallPolicyAssessment?.firewallPolicy?.actions ?? [])];
}

async function chooseActions(request, env) {
  let actions;
  try {
    actions = (await localActions(request, env)) ?? (await assessedActions(request, env));
  } catch {
    actions = [ALLOW];
  }
  const path = pathOf(request);
  if (env.SESSION_JS_INSTALL_PATH?.split(';').some((p) => glob(p).test(path))) {
    actions.unshift({ injectjs: {} });
  }
  return actions;
}

/** A new Response as Google's worker makes one: one value per header name, no webSocket. */
function rebuilt(response, headers = lastValues(response.headers)) {
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

function lastValues(headers) {
  const byName = new Map();
  headers.forEach((value, name) => byName.set(name.toLowerCase(), value));
  return new Headers([...byName]);
}

function withSessionScript(response, env) {
  const src = new URL(RECAPTCHA_JS);
  src.searchParams.set('render', env.SESSION_SITE_KEY ?? '');
  src.searchParams.set('waf', 'session');
  const script = `<script src="${src}" async defer></script>`;
  return new HTMLRewriter()
    .on('head', { element: (head) => head.append(script, { html: true }) })
    .transform(rebuilt(response));
}

/** The request as the pre-request actions leave it. */
function edited(request, actions) {
  let req = request;
  for (const action of actions) {
    if (action.setHeader) {
      const headers = new Headers(req.headers);
      headers.append(action.setHeader.key ?? '', action.setHeader.value ?? '');
      req = new Request(req.url, { method: req.method, headers, body: req.body, redirect: req.redirect });
    } else if (action.substitute) {
      req = new Request(`${new URL(req.url).origin}${action.substitute.path}`, req);
    } else {
      throw new Error(`not imitated: ${JSON.stringify(action)}`);
    }
  }
  return req;
}

async function applyActions(request, actions, env) {
  let terminal = ALLOW;
  const before = [];
  let inject = false;
  // Terminal actions: the last one counts; the others in their order.
  for (const action of actions) {
    if (action.allow || action.block || action.challengepage) terminal = action;
    else if (action.setHeader || action.substitute || action.redirect) before.push(action);
    else if (action.injectjs) inject = true;
    else throw new Error(`Unsupported action: ${JSON.stringify(action)}`);
  }
  if (terminal.block) return rebuilt(new Response('', { status: 403 }), new Headers());
  let response = await fetch(edited(request, before));
  if (inject) response = withSessionScript(response, env);
  return rebuilt(response);
}

export default {
  async fetch(request, env) {
    return applyActions(request, await chooseActions(request, env), env);
  },
};
