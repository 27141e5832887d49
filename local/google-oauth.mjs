// A stand-in for Google's OAuth 2.0 token endpoint and for the bearer
// checks of the annotate API, as strict as Google's: the assertion's RS256
// signature is verified against the service account's public key, and its
// claims are checked one by one. Each test run makes its own key pair; no
// private key is ever committed.

import crypto from 'node:crypto';

export const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google allows some clock skew on iat; so does the stand-in. */
const SKEW_S = 60;

/** A fresh service account: its key file (as Google issues it) and public key. */
export function newServiceAccount({ clientEmail = 'annotator@test-project.iam.gserviceaccount.com', tokenUri = 'https://oauth2.googleapis.com/token' } = {}) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyId = crypto.randomBytes(20).toString('hex');
  const keyFile = {
    type: 'service_account',
    project_id: 'test-project',
    private_key_id: keyId,
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: clientEmail,
    client_id: '100000000000000000000',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri,
    universe_domain: 'googleapis.com',
  };
  return { keyFile, keyFileText: JSON.stringify(keyFile), publicKey, privateKey, clientEmail, keyId };
}

const b64url = (s) => Buffer.from(s, 'base64url');

/** Verifies a compact JWT's RS256 signature; returns { header, claims } or an error string. */
function verifyJwt(jwt, publicKey) {
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) return 'Invalid JWT: not three parts.';
  let header;
  let claims;
  try {
    header = JSON.parse(b64url(parts[0]).toString('utf8'));
    claims = JSON.parse(b64url(parts[1]).toString('utf8'));
  } catch {
    return 'Invalid JWT: parts are not base64url JSON.';
  }
  if (header.alg !== 'RS256' || header.typ !== 'JWT') return 'Invalid JWT: alg must be RS256.';
  const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, b64url(parts[2]));
  if (!ok) return 'Invalid JWT Signature.';
  return { header, claims };
}

/** The time claims: whole seconds, at most an hour apart, not expired, not from the future. */
function timeProblem(claims, nowS) {
  const { iat, exp } = claims;
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) return 'Invalid JWT: iat and exp must be integers.';
  if (exp - iat > 3600) return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.';
  if (exp <= nowS) return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values.';
  if (iat > nowS + SKEW_S) return 'Invalid JWT: iat is in the future.';
  return null;
}

/**
 * The token endpoint and the bearer check for one service account.
 *   account: from newServiceAccount; expiresIn: seconds each token lives.
 * Set `tokenUri` (the `aud` an assertion must name) and `apiAudience` (a
 * self-signed JWT's `aud`, `{api base}/`) once the server's port is known.
 */
export function createOAuth({ account, expiresIn = 3600 }) {
  const issued = new Map(); // token -> expiry (ms)
  const assertions = []; // every assertion received, to prove none is logged
  const exchanges = []; // { at, status }
  let outageUntil = 0;
  let delayNextMs = 0;
  let holdUntil = 0;
  const state = { expiresIn };

  const oauthError = (res, status, error, description) => {
    exchanges.push({ at: Date.now(), status });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error, error_description: description }));
  };

  const oauth = {
    tokenUri: null,
    apiAudience: null,
    exchanges,
    assertions,
    /** Tokens issued so far. */
    tokens: () => [...issued.keys()],
    setExpiresIn(s) { state.expiresIn = s; },
    /** The token endpoint answers 503 for the next `ms`. */
    outageFor(ms) { outageUntil = Date.now() + ms; },
    /** Exchanges arriving in the next `ms` are held, unanswered, until that time is up, then refused with a 503. */
    holdFor(ms) { holdUntil = Date.now() + ms; },
    /** The next exchange is answered only after `ms` (a slow endpoint). */
    delayNext(ms) { delayNextMs = ms; },
    /** Google stops accepting `token` (revoked, as after a key deletion). */
    revoke(token) { issued.delete(token); },

    /** POST {tokenUri}: the JWT-bearer exchange. */
    handleToken(req, res, text) {
      if (delayNextMs > 0) {
        const ms = delayNextMs;
        delayNextMs = 0;
        setTimeout(() => oauth.handleToken(req, res, text), ms);
        return undefined;
      }
      if (Date.now() < holdUntil) {
        setTimeout(() => { if (!res.destroyed) oauthError(res, 503, 'temporarily_unavailable', 'Held, then refused'); }, holdUntil - Date.now());
        return undefined;
      }
      if (Date.now() < outageUntil) return oauthError(res, 503, 'temporarily_unavailable', 'Injected outage');
      if (req.method !== 'POST') return oauthError(res, 405, 'invalid_request', 'POST only');
      if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
        return oauthError(res, 400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
      }
      const form = new URLSearchParams(text);
      if (form.get('grant_type') !== GRANT_TYPE) return oauthError(res, 400, 'unsupported_grant_type', 'Invalid grant_type');
      const assertion = form.get('assertion');
      if (assertion) assertions.push(assertion);
      const jwt = verifyJwt(assertion, account.publicKey);
      if (typeof jwt === 'string') return oauthError(res, 400, 'invalid_grant', jwt);
      const { header, claims } = jwt;
      const nowS = Math.floor(Date.now() / 1000);
      if (header.kid !== account.keyId) return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
      if (claims.iss !== account.clientEmail) return oauthError(res, 400, 'invalid_grant', 'Invalid issuer: unknown service account');
      if (claims.aud !== oauth.tokenUri) return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
      if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(SCOPE)) {
        return oauthError(res, 400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
      }
      const time = timeProblem(claims, nowS);
      if (time) return oauthError(res, 400, 'invalid_grant', time);
      const token = `ya29.stand-in-${crypto.randomBytes(24).toString('base64url')}`;
      issued.set(token, Date.now() + state.expiresIn * 1000);
      exchanges.push({ at: Date.now(), status: 200 });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ access_token: token, expires_in: state.expiresIn, token_type: 'Bearer' }));
      return undefined;
    },

    /** Checks an annotate call's Authorization header: null when valid, else why not. */
    checkBearer(authorization) {
      const m = /^Bearer (\S+)$/.exec(authorization ?? '');
      if (!m) return 'Request is missing required authentication credential.';
      const token = m[1];
      const expiry = issued.get(token);
      if (expiry !== undefined) return Date.now() < expiry ? null : 'Request had invalid authentication credentials: the access token expired.';
      if (token.startsWith('ya29.')) return 'Request had invalid authentication credentials: unknown access token.';
      // A self-signed JWT (AIP-4111): addressed to the API, no scope.
      const jwt = verifyJwt(token, account.publicKey);
      if (typeof jwt === 'string') return `Request had invalid authentication credentials: ${jwt}`;
      const { header, claims } = jwt;
      if (header.kid !== account.keyId) return 'Request had invalid authentication credentials: unknown key.';
      if (claims.iss !== account.clientEmail || claims.sub !== account.clientEmail) return 'Request had invalid authentication credentials: iss and sub must be the service account.';
      if (claims.aud !== oauth.apiAudience) return 'Request had invalid authentication credentials: wrong audience.';
      if (claims.scope !== undefined) return 'Request had invalid authentication credentials: a self-signed JWT has aud or scope, not both.';
      return timeProblem(claims, Math.floor(Date.now() / 1000));
    },
  };
  return oauth;
}
