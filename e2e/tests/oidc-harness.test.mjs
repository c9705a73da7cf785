// The sign-in test harness (e2e/lib/oidc.mjs) on its own, no worker needed: the real OpenID
// Connect provider, the evil issuer and the fake GitHub, driven by the harness's browser through a
// small reference relying party written here (the contract's start and callback, in Node with
// jose), and by plain token requests. It proves the harness is right before the worker's tests
// (oauth*.test.mjs) lean on it: a worker that fails those fails them on its own account.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  BrowserJar,
  ID_TOKEN_TAMPERS,
  parseCookies,
  pkceChallenge,
  randomSecret,
  signIn,
  startEvilIssuer,
  startFakeGitHub,
  startOidcProvider,
} from '../lib/oidc.mjs';

const b64json = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unb64json = (s) => JSON.parse(Buffer.from(s, 'base64url').toString());
const tag = () => randomSecret(4);

/**
 * A relying party of the contract's shape, just enough to drive the providers as the worker will:
 * GET /api/oauth/{id}/start?returnTo=P sets a `userdo_oauth` cookie (state, nonce, verifier, unsigned:
 * a test stand-in) and redirects to the provider; GET /api/oauth/{id}/callback checks the state,
 * exchanges the code (client_secret_basic for `local`, client_secret_post for the others), verifies
 * the ID token with jose (or, for GitHub, reads /user and /user/emails) and redirects to returnTo,
 * with `oauth_error` on failure. `results` records each callback's outcome.
 */
async function startReferenceRp(providers) {
  const results = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const m = url.pathname.match(/^\/api\/oauth\/(\w+)\/(start|callback)$/);
    const p = m && providers[m[1]];
    if (!p) { res.writeHead(404).end(); return; }
    const redirectUri = `${rp.url}/api/oauth/${m[1]}/callback`;
    const go = (location, cookies = []) => { res.writeHead(302, { location, 'set-cookie': cookies }).end(); };
    if (m[2] === 'start') {
      const flow = { id: m[1], state: randomSecret(16), nonce: randomSecret(16), verifier: randomSecret(32), returnTo: url.searchParams.get('returnTo') ?? '/' };
      const authorize = new URL(p.kind === 'github' ? p.op.authorizationUrl : (await discovery(p)).authorization_endpoint);
      authorize.search = new URLSearchParams({
        response_type: 'code', client_id: p.op.clientId, redirect_uri: redirectUri, state: flow.state,
        scope: p.kind === 'github' ? 'read:user user:email' : 'openid email',
        ...(p.kind === 'github' ? {} : { nonce: flow.nonce }),
        code_challenge: pkceChallenge(flow.verifier), code_challenge_method: 'S256',
      }).toString();
      return go(authorize.href, [`userdo_oauth=${b64json(flow)}; HttpOnly; SameSite=Lax; Max-Age=600; Path=/api/oauth`]);
    }
    const clear = 'userdo_oauth=; HttpOnly; SameSite=Lax; Max-Age=0; Path=/api/oauth';
    const raw = (req.headers.cookie ?? '').split('; ').find((c) => c.startsWith('userdo_oauth='));
    let flow;
    try { flow = raw && unb64json(raw.slice('userdo_oauth='.length)); } catch { flow = undefined; }
    const fail = (code, detail) => {
      results.push({ error: code, detail });
      const back = new URL(flow?.returnTo ?? '/', rp.url);
      back.searchParams.set('oauth_error', code);
      return go(back.href, [clear]);
    };
    const q = Object.fromEntries(url.searchParams);
    if (!flow || flow.id !== m[1] || q.state !== flow.state) { flow = undefined; return fail('invalid_state'); }
    if (q.error) return fail(q.error);
    try {
      const endpoint = p.kind === 'github' ? p.op.tokenUrl : (await discovery(p)).token_endpoint;
      const form = { grant_type: 'authorization_code', code: q.code, redirect_uri: redirectUri, code_verifier: flow.verifier };
      const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      if (m[1] === 'local') headers.authorization = `Basic ${Buffer.from(`${p.op.clientId}:${p.op.clientSecret}`).toString('base64')}`;
      else Object.assign(form, { client_id: p.op.clientId, client_secret: p.op.clientSecret });
      const tokenRes = await fetch(endpoint, { method: 'POST', headers, body: new URLSearchParams(form) });
      const tokens = await tokenRes.json();
      if (!tokenRes.ok || tokens.error) return fail('exchange_failed', tokens.error);
      if (p.kind === 'github') {
        const api = (path) => fetch(`${p.op.apiUrl}${path}`, { headers: { authorization: `Bearer ${tokens.access_token}`, 'user-agent': 'reference-rp', accept: 'application/vnd.github+json' } });
        const [user, emails] = await Promise.all([api('/user'), api('/user/emails')]);
        if (!user.ok || !emails.ok) return fail('provider_error', `${user.status} ${emails.status}`);
        const primary = (await emails.json()).find((e) => e.primary);
        const result = { sub: String((await user.json()).id), email: primary?.email, email_verified: primary?.verified === true };
        results.push(result);
        return go(new URL(flow.returnTo, rp.url).href, [clear]);
      }
      const d = await discovery(p);
      let claims;
      try {
        ({ payload: claims } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(d.jwks_uri)), {
          issuer: d.issuer, audience: p.op.clientId, algorithms: ['RS256', 'ES256'],
        }));
        if (claims.nonce !== flow.nonce) throw new Error('nonce mismatch');
      } catch (error) {
        return fail('invalid_id_token', `${error.code ?? ''} ${error.message}`);
      }
      results.push({ sub: claims.sub, email: claims.email, email_verified: claims.email_verified, claims });
      return go(new URL(flow.returnTo, rp.url).href, [clear]);
    } catch (error) {
      return fail('provider_error', error.message);
    }
  });
  const discoveries = new Map();
  async function discovery(p) {
    if (!discoveries.has(p.op.issuer)) discoveries.set(p.op.issuer, await (await fetch(`${p.op.issuer}/.well-known/openid-configuration`)).json());
    return discoveries.get(p.op.issuer);
  }
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const rp = {
    url: `http://127.0.0.1:${server.address().port}`,
    results,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
  return rp;
}

describe('the sign-in test harness, without the worker', () => {
  let local;
  let evil;
  let gh;
  let rp;
  before(async () => {
    [local, evil, gh] = await Promise.all([startOidcProvider(), startEvilIssuer(), startFakeGitHub()]);
    rp = await startReferenceRp({ local: { op: local }, evil: { op: evil }, gh: { op: gh, kind: 'github' } });
    local.setRedirectUris([`${rp.url}/api/oauth/local/callback`]);
    evil.setRedirectUris([`${rp.url}/api/oauth/evil/callback`]);
    gh.setRedirectUris([`${rp.url}/api/oauth/gh/callback`]);
  });
  after(async () => {
    await Promise.all([local?.close(), evil?.close(), gh?.close(), rp?.close()]);
  });

  const start = (id, returnTo = '/home') => `${rp.url}/api/oauth/${id}/start?returnTo=${encodeURIComponent(returnTo)}`;
  const outcome = (r) => {
    assert.equal(r.status, 302, r.trace());
    return new URL(r.location);
  };

  test('the provider publishes discovery for its issuer and public RS256 and ES256 keys only', async () => {
    const d = await local.discovery();
    assert.equal(d.issuer, local.issuer);
    assert.ok(d.code_challenge_methods_supported.includes('S256'));
    for (const m of ['client_secret_basic', 'client_secret_post']) assert.ok(d.token_endpoint_auth_methods_supported.includes(m), m);
    const { keys } = await (await fetch(d.jwks_uri)).json();
    assert.deepEqual(keys.map((k) => `${k.kty}/${k.alg ?? ''}`).sort(), ['EC/ES256', 'RSA/RS256']);
    for (const k of keys) assert.equal(k.d, undefined, 'no private key material in the JWKS');
  });

  test('a sign-in through the reference RP: login, consent, code + PKCE, a verified ID token with the account\'s claims', async () => {
    const email = `harness-${tag()}@example.com`;
    const account = local.addAccount(`alice-${tag()}`, { email, email_verified: true });
    const jar = new BrowserJar();
    const r = await signIn({ startUrl: start('local', '/after?x=1'), jar, login: account.login });
    assert.equal(r.stage, 'callback');
    const to = outcome(r);
    assert.equal(to.pathname, '/after');
    assert.equal(to.searchParams.get('oauth_error'), null, JSON.stringify(rp.results.at(-1)));
    const result = rp.results.at(-1);
    assert.equal(result.sub, account.sub);
    assert.equal(result.email, email);
    assert.equal(result.email_verified, true);
    assert.equal(result.claims.iss, local.issuer);
    assert.equal(result.claims.aud, local.clientId);
    // The browser kept the provider's cookies and the RP's apart, and the flow cookie is gone.
    assert.equal(jar.get(`${rp.url}/api/oauth/local/callback`, 'userdo_oauth'), undefined);
    assert.ok(jar.names(`${local.issuer}/auth`).includes('_session'), jar.names(`${local.issuer}/auth`).join());
    assert.equal(local.tokenRequests.at(-1).authMethod, 'client_secret_basic');
    // The same browser again: the provider remembers the session and the grant, no form shown.
    const again = await signIn({ startUrl: start('local'), jar });
    assert.equal(outcome(again).searchParams.get('oauth_error'), null);
    assert.equal(rp.results.at(-1).sub, account.sub);
    assert.ok(!again.hops.some((h) => h.method === 'POST'), again.trace());
  });

  test('an unverified email comes through as email_verified false', async () => {
    const account = local.addAccount(`u-${tag()}`, { email: `unverified-${tag()}@example.com`, email_verified: false });
    const r = await signIn({ startUrl: start('local'), login: account.login });
    assert.equal(outcome(r).searchParams.get('oauth_error'), null);
    assert.equal(rp.results.at(-1).email_verified, false);
  });

  test('the token endpoint takes client_secret_post too, spends a code once, and checks the PKCE verifier', async () => {
    const account = local.addAccount(`post-${tag()}`, { email: `post-${tag()}@example.com` });
    const d = await local.discovery();
    const exchange = async (callbackUrl, { verifier, basic = false }) => {
      const code = new URL(callbackUrl).searchParams.get('code');
      const form = { grant_type: 'authorization_code', code, redirect_uri: `${rp.url}/api/oauth/local/callback`, code_verifier: verifier };
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      if (basic) headers.authorization = `Basic ${Buffer.from(`${local.clientId}:${local.clientSecret}`).toString('base64')}`;
      else Object.assign(form, { client_id: local.clientId, client_secret: local.clientSecret });
      const res = await fetch(d.token_endpoint, { method: 'POST', headers, body: new URLSearchParams(form) });
      return { status: res.status, json: await res.json() };
    };
    // The verifier lives in the RP's cookie: read it back from the browser.
    const flowOf = (jar) => unb64json(jar.get(`${rp.url}/api/oauth/local/callback`, 'userdo_oauth'));

    const jar = new BrowserJar();
    const a = await signIn({ startUrl: start('local'), jar, login: account.login, stopAtCallback: true });
    assert.equal(a.stage, 'stopped');
    const flow = flowOf(jar);
    assert.equal(new URL(a.callbackUrl).searchParams.get('state'), flow.state);
    assert.equal(new URL(a.callbackUrl).searchParams.get('iss'), local.issuer, 'RFC 9207 iss in the authorization response');
    const first = await exchange(a.callbackUrl, { verifier: flow.verifier });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const { payload } = await jwtVerify(first.json.id_token, createRemoteJWKSet(new URL(d.jwks_uri)), { issuer: local.issuer, audience: local.clientId });
    assert.equal(payload.nonce, flow.nonce);
    assert.equal(payload.email, account.email);
    assert.equal(local.tokenRequests.at(-1).authMethod, 'client_secret_post');
    const replay = await exchange(a.callbackUrl, { verifier: flow.verifier, basic: true });
    assert.equal(replay.status, 400);
    assert.equal(replay.json.error, 'invalid_grant');

    const jar2 = new BrowserJar();
    const b = await signIn({ startUrl: start('local'), jar: jar2, login: account.login, stopAtCallback: true });
    const wrong = await exchange(b.callbackUrl, { verifier: randomSecret(32), basic: true });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error, 'invalid_grant');
    assert.match(local.errors.at(-1), /code_verifier does not match/);

    const jar3 = new BrowserJar();
    const c = await signIn({ startUrl: start('local'), jar: jar3, login: account.login, stopAtCallback: true });
    const cFlow = flowOf(jar3);
    const basic = await exchange(c.callbackUrl, { verifier: cFlow.verifier, basic: true });
    assert.equal(basic.status, 200, JSON.stringify(basic.json));
  });

  test('the provider refuses an authorization request without PKCE, back at the redirect URI', async () => {
    const d = await local.discovery();
    const authorize = new URL(d.authorization_endpoint);
    authorize.search = new URLSearchParams({ response_type: 'code', client_id: local.clientId, redirect_uri: `${rp.url}/api/oauth/local/callback`, scope: 'openid email', state: 's', nonce: 'n' }).toString();
    const res = await new BrowserJar().request(authorize.href);
    assert.equal(res.status, 303, res.text);
    const back = new URL(res.location);
    assert.equal(back.origin + back.pathname, `${rp.url}/api/oauth/local/callback`);
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    // And an unregistered redirect URI is an error page, never a redirect.
    authorize.searchParams.set('redirect_uri', 'https://evil.example/cb');
    const page = await new BrowserJar().request(authorize.href);
    assert.equal(page.status, 400);
    assert.equal(page.location, undefined);
  });

  test('denying consent comes back as error=access_denied', async () => {
    const account = local.addAccount(`deny-${tag()}`, { email: `deny-${tag()}@example.com` });
    const r = await signIn({ startUrl: start('local', '/x'), login: account.login, consent: false, stopAtCallback: true });
    const q = new URL(r.callbackUrl).searchParams;
    assert.equal(q.get('error'), 'access_denied');
    assert.equal(q.get('code'), null);
    const done = await signIn({ startUrl: start('local', '/x'), login: account.login, consent: false });
    const to = outcome(done);
    assert.equal(to.pathname, '/x');
    assert.equal(to.searchParams.get('oauth_error'), 'access_denied');
  });

  test('the evil issuer is a correct issuer with RS256 and ES256 ID tokens', async () => {
    for (const alg of ['RS256', 'ES256']) {
      const account = evil.addAccount(`ok-${alg}-${tag()}`, { email: `evil-ok-${tag()}@example.com`, alg });
      const r = await signIn({ startUrl: start('evil'), login: account.login });
      assert.equal(outcome(r).searchParams.get('oauth_error'), null, JSON.stringify(rp.results.at(-1)));
      assert.equal(rp.results.at(-1).sub, account.sub);
      assert.equal(evil.tokenRequests.at(-1).authMethod, 'client_secret_post');
    }
  });

  for (const [tamper, what] of Object.entries(ID_TOKEN_TAMPERS)) {
    test(`the evil issuer's ID token with ${what} fails verification (${tamper})`, async () => {
      const account = evil.addAccount(`${tamper}-${tag()}`, { email: `evil-${tamper}-${tag()}@example.com`, tamper, iss: tamper === 'iss' ? local.issuer : undefined });
      const r = await signIn({ startUrl: start('evil', '/t'), login: account.login });
      const to = outcome(r);
      assert.equal(to.searchParams.get('oauth_error'), 'invalid_id_token', JSON.stringify(rp.results.at(-1)));
    });
  }

  test('the evil issuer spends a code once and checks PKCE and client credentials', async () => {
    const account = evil.addAccount(`codes-${tag()}`, { email: `codes-${tag()}@example.com` });
    const jar = new BrowserJar();
    const r = await signIn({ startUrl: start('evil'), jar, login: account.login, stopAtCallback: true });
    const flow = unb64json(parseCookies(r.start.setCookies).userdo_oauth.value);
    const code = new URL(r.callbackUrl).searchParams.get('code');
    const post = (extra) => fetch(`${evil.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${rp.url}/api/oauth/evil/callback`, client_id: evil.clientId, client_secret: evil.clientSecret, code_verifier: flow.verifier, ...extra }),
    });
    // A client that fails to authenticate spends nothing (as oidc-provider); a code is spent at its first use.
    assert.equal((await post({ client_secret: 'wrong' })).status, 401);
    assert.equal((await post({})).status, 200);
    assert.equal((await (await post({})).json()).error, 'invalid_grant');
    const r2 = await signIn({ startUrl: start('evil'), jar: new BrowserJar(), login: account.login, stopAtCallback: true });
    const code2 = new URL(r2.callbackUrl).searchParams.get('code');
    const res = await fetch(`${evil.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${evil.clientId}:${evil.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code2, redirect_uri: `${rp.url}/api/oauth/evil/callback`, code_verifier: randomSecret(32) }),
    });
    assert.equal((await res.json()).error, 'invalid_grant');
    assert.match(evil.errors.at(-1), /PKCE/);
  });

  test('the fake GitHub: sign-in gives the primary email and its verified flag from /user/emails', async () => {
    const primary = `octo-${tag()}@example.com`;
    const account = gh.addAccount(`octo-${tag()}`, {
      publicEmail: `public-${tag()}@example.com`,
      emails: [{ email: `other-${tag()}@example.com`, primary: false, verified: true }, { email: primary, primary: true, verified: true }],
    });
    const r = await signIn({ startUrl: start('gh', '/gh'), login: account.login });
    assert.equal(outcome(r).searchParams.get('oauth_error'), null, JSON.stringify(rp.results.at(-1)));
    assert.deepEqual({ ...rp.results.at(-1) }, { sub: String(account.id), email: primary, email_verified: true });
    assert.equal(gh.tokenRequests.at(-1).codeVerifier, true);
    assert.equal(gh.tokenRequests.at(-1).authMethod, 'client_secret_post');
    assert.ok(gh.apiRequests.slice(-2).every((a) => a.userAgent === 'reference-rp'));

    const unverified = gh.addAccount(`octo-u-${tag()}`, { emails: [{ email: `u-${tag()}@example.com`, primary: true, verified: false }] });
    await signIn({ startUrl: start('gh'), login: unverified.login });
    assert.equal(rp.results.at(-1).email_verified, false);

    const denied = await signIn({ startUrl: start('gh', '/d'), login: account.login, consent: false });
    assert.equal(outcome(denied).searchParams.get('oauth_error'), 'access_denied');

    const broken = gh.addAccount(`octo-500-${tag()}`, { emails: [], emailsStatus: 500 });
    const failed = await signIn({ startUrl: start('gh'), login: broken.login });
    assert.equal(outcome(failed).searchParams.get('oauth_error'), 'provider_error');
  });

  test('the fake GitHub is strict where GitHub is: User-Agent, the user:email scope, errors in a 200, a form body without Accept json', async () => {
    const account = gh.addAccount(`strict-${tag()}`, { emails: [{ email: `s-${tag()}@example.com`, primary: true, verified: true }] });
    // A code straight from the forms, without an RP in between.
    const codeFor = async (scope) => {
      const jar = new BrowserJar();
      const authorize = new URL(gh.authorizationUrl);
      authorize.search = new URLSearchParams({ client_id: gh.clientId, redirect_uri: `${rp.url}/api/oauth/gh/callback`, scope, state: 'st' }).toString();
      const page = await jar.request(authorize.href);
      const login = await jar.request(new URL('/session', gh.url).href, { method: 'POST', form: { txn: page.text.match(/name="txn" value="([^"]+)"/)[1], login: account.login } });
      const txn = login.text.match(/name="txn" value="([^"]+)"/)[1];
      const back = await jar.request(gh.authorizationUrl, { method: 'POST', form: { txn, authorize: '1' } });
      return new URL(back.location).searchParams.get('code');
    };
    const exchange = async (code, accept) => fetch(gh.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(accept ? { accept } : {}) },
      body: new URLSearchParams({ client_id: gh.clientId, client_secret: gh.clientSecret, code, redirect_uri: `${rp.url}/api/oauth/gh/callback` }),
    });
    const formRes = await exchange(await codeFor('read:user'), undefined);
    assert.match(formRes.headers.get('content-type'), /x-www-form-urlencoded/);
    const narrow = new URLSearchParams(await formRes.text()).get('access_token');
    assert.ok(narrow.startsWith('gho_'));
    const api = (path, token, ua = 'test') => fetch(`${gh.apiUrl}${path}`, { headers: { authorization: `token ${token}`, ...(ua ? { 'user-agent': ua } : {}) } });
    assert.equal((await api('/user', narrow)).status, 200);
    assert.equal((await api('/user/emails', narrow)).status, 404, 'no user:email scope');
    const bad = await exchange('not-a-code', 'application/json');
    assert.equal(bad.status, 200);
    assert.equal((await bad.json()).error, 'bad_verification_code');
    // fetch always sends a User-Agent; node:http does not unless asked.
    const { request } = await import('node:http');
    const status = await new Promise((resolve, reject) => {
      const req = request(`${gh.apiUrl}/user`, { headers: { authorization: `Bearer ${narrow}` } }, (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403, 'no User-Agent');
  });
});
