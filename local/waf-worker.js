// A test double of Google's reCAPTCHA WAF worker for Cloudflare
// (`recaptcha-waf`, repository GoogleCloudPlatform/recaptcha-edge), written
// here for the tests, the demo and the benchmark. It does what that worker
// does on the paths this project relies on, as read in its source, and no
// more, so that nothing passes here only because of the double:
//
//   configuration  the same variables: PROJECT_NUMBER, API_KEY,
//                  ACTION_SITE_KEY, ENTERPRISE_SITE_KEY, SESSION_SITE_KEY,
//                  CHALLENGE_PAGE_SITE_KEY, EXPRESS_SITE_KEY, RECAPTCHA_ENDPOINT,
//                  SESSION_JS_INSTALL_PATH
//   policies       lists the project's firewall policies; the first whose path
//                  matches decides: condition "" or true: its actions, false:
//                  the next one, anything else: createAssessment. None: allow
//   token          as addTokenAndSiteKeyToEvent (src/createAssessment.ts,
//                  1.0.x) picks it: X-Recaptcha-Token (with ACTION_SITE_KEY),
//                  else for a POST with ENTERPRISE_SITE_KEY the body's
//                  g-recaptcha-response (JSON or form), else a recaptcha-*-e
//                  cookie (CHALLENGE_PAGE_SITE_KEY), else a recaptcha-*-t
//                  cookie (SESSION_SITE_KEY), else express (EXPRESS_SITE_KEY),
//                  else allow without a call. Cookies as its non-strict
//                  parser reads them: split at ';', each at its first '=',
//                  trimmed, the value whole and not decoded; of the cookies a
//                  glob matches the last wins, an empty one giving way to the
//                  last recaptcha-cf-e / recaptcha-cf-t
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
// instead), the password-check path, a multipart body's token (none found
// here), debug output.

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

/** A POST body's g-recaptcha-response, read from a copy, or null. */
async function tokenFromBody(request) {
  const type = request.headers.get('content-type');
  try {
    if (type?.includes('application/json')) return (await request.clone().json())['g-recaptcha-response'] || null;
    if (type?.includes('application/x-www-form-urlencoded')) {
      return new URLSearchParams(await request.clone().text()).get('g-recaptcha-response');
    }
  } catch {
    // Google logs "Error parsing data".
  }
  return null;
}

/** The token and site key the assessment is for, in Google's precedence. */
async function siteInfo(request, env) {
  const actionToken = request.headers.get('X-Recaptcha-Token');
  if (env.ACTION_SITE_KEY && actionToken) {
    return { token: actionToken, siteKey: env.ACTION_SITE_KEY, wafTokenAssessment: true };
  }
  const byName = new Map();
  let challenge;
  let session;
  for (const cookie of request.headers.get('cookie')?.split(';') ?? []) {
    // As Google's parser: the pair split at its first '=' (none: an empty
    // name), the rest kept whole, nothing decoded; the last match wins.
    const delim = cookie.indexOf('=');
    const name = cookie.substring(0, delim).trim();
    const value = cookie.substring(delim + 1).trim();
    byName.set(name, value);
    if (SESSION_COOKIE.test(name)) session = value;
    else if (CHALLENGE_COOKIE.test(name)) challenge = value;
  }
  if (!challenge) challenge = byName.get('recaptcha-cf-e');
  if (!session) session = byName.get('recaptcha-cf-t');
  if (env.ENTERPRISE_SITE_KEY && request.method === 'POST') {
    const token = await tokenFromBody(request);
    // Without one Google logs "g-recaptcha-response not found" and goes on
    // with neither token nor site key.
    return token ? { token, siteKey: env.ENTERPRISE_SITE_KEY, wafTokenAssessment: false } : {};
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
async function assessmentRequest(request, env) {
  const headers = [];
  request.headers.forEach((value, name) => headers.push(`${name}:${value}`));
  return {
    event: {
      ...(await siteInfo(request, env)),
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
    body: JSON.stringify(await assessmentRequest(request, env)),
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
