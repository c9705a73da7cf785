// Sign-in with OpenID Connect and OAuth 2.0 providers, driven as a browser drives it, against a
// worker of its own configured with three providers (e2e/lib/oauth-world.mjs): a real OpenID
// Connect provider (oidc-provider), an issuer that hands out bad ID tokens on request, and a fake
// GitHub. This file: the provider list, /start (the authorization request, its cookie, returnTo),
// a first and a later sign-in, every refusal of the callback (state, the provider's error, spent and
// injected codes, each ID-token check), joining an existing account by a verified email, and the
// client secrets. oauth-accounts.test.mjs: linking, unlinking, accounts without a password, GitHub.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { PASSWORD, assertUser, expectStatus } from '../lib/api.mjs';
import { BrowserJar, ID_TOKEN_TAMPERS, parseCookies } from '../lib/oidc.mjs';
import {
  ALLOWED_ORIGIN,
  LOCAL_NAME,
  assertNoAccount,
  expectOAuthError,
  expectSignedIn,
  identitiesOf,
  me,
  signup,
  startOAuthWorld,
  tag,
  uniqueEmail,
} from '../lib/oauth-world.mjs';

describe('sign-in with OpenID Connect and OAuth providers', () => {
  let world;
  before(async () => {
    world = await startOAuthWorld({ name: 'oauth' });
  });
  after(() => world?.close());

  /** GET /start in a fresh browser (or `jar`), without following: the worker's answer. */
  const start = async (id, query = { returnTo: '/' }, jar = new BrowserJar()) => {
    const res = await world.visit(jar, world.startUrl(id, query));
    return { res, jar };
  };
  /** The query of a /start's Location, after checking it is a 302 to `endpoint`. */
  const authorizationRequest = (res, endpoint) => {
    assert.equal(res.status, 302, `${res.url} -> ${res.status}: ${res.text}`);
    const to = new URL(res.location);
    assert.equal(to.origin + to.pathname, endpoint, `the authorization endpoint: ${res.location}`);
    return Object.fromEntries(to.searchParams);
  };
  /** The one userdo_oauth cookie a /start sets, its attributes checked. */
  const expectFlowCookie = (res) => {
    assert.equal(res.setCookies.length, 1, `exactly one Set-Cookie: ${JSON.stringify(res.setCookies)}`);
    const c = res.cookies.userdo_oauth;
    assert.ok(c && c.value, `a userdo_oauth cookie: ${JSON.stringify(res.setCookies)}`);
    assert.equal(c.attrs.httponly, true, 'userdo_oauth: HttpOnly');
    assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', 'userdo_oauth: SameSite=Lax');
    assert.equal(c.attrs['max-age'], '600', 'userdo_oauth: Max-Age=600 (10 minutes)');
    assert.equal(c.attrs.path, '/api/oauth', 'userdo_oauth: Path=/api/oauth');
    assert.equal(c.attrs.secure, undefined, 'userdo_oauth: no Secure on http://127.0.0.1');
    return c;
  };
  const localEndpoint = async () => (await world.local.discovery()).authorization_endpoint;

  test('GET /api/oauth/providers lists the configured providers in order, each with its name', async () => {
    const res = expectStatus(await world.api('GET', '/api/oauth/providers'), 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/i);
    assert.deepEqual(res.json, {
      providers: [
        { id: 'local', name: LOCAL_NAME }, // OAUTH_LOCAL_NAME
        { id: 'evil', name: 'evil' }, // no name set: the id
        { id: 'gh', name: 'GitHub' }, // the preset's name
      ],
    });
  });

  test('/start redirects to the authorization endpoint: code flow, exact redirect URI, openid scope, state, nonce, PKCE S256', async () => {
    const endpoint = await localEndpoint();
    const { res } = await start('local', { returnTo: '/dashboard' });
    const q = authorizationRequest(res, endpoint);
    assert.equal(q.response_type, 'code');
    assert.equal(q.client_id, world.local.clientId);
    assert.equal(q.redirect_uri, `${world.origin}/api/oauth/local/callback`);
    const scopes = (q.scope ?? '').split(' ');
    assert.ok(scopes.includes('openid'), `scope has openid: ${q.scope}`);
    assert.ok(scopes.includes('email'), `scope has email (the provider gives the email claims only for it): ${q.scope}`);
    assert.ok(q.state && q.state.length >= 22, `state of at least 128 bits: ${q.state}`);
    assert.ok(q.nonce && q.nonce.length >= 22, `nonce of at least 128 bits: ${q.nonce}`);
    assert.match(q.code_challenge ?? '', /^[A-Za-z0-9_-]{43}$/, 'code_challenge: the base64url SHA-256 of the verifier');
    assert.equal(q.code_challenge_method, 'S256');
    assert.equal(q.client_secret, undefined);
    expectFlowCookie(res);

    // Every start is a flow of its own: fresh state, nonce, verifier and cookie.
    const { res: again } = await start('local', { returnTo: '/dashboard' });
    const q2 = authorizationRequest(again, endpoint);
    for (const k of ['state', 'nonce', 'code_challenge']) assert.notEqual(q2[k], q[k], `${k} differs between two starts`);
    assert.notEqual(expectFlowCookie(again).value, res.cookies.userdo_oauth.value);

    // The second issuer, found by its own discovery document.
    const { res: evil } = await start('evil');
    const e = authorizationRequest(evil, `${world.evil.issuer}/authorize`);
    assert.equal(e.client_id, world.evil.clientId);
    assert.equal(e.redirect_uri, `${world.origin}/api/oauth/evil/callback`);
    assert.equal(e.code_challenge_method, 'S256');
    assert.ok(e.nonce && e.state);
    expectFlowCookie(evil);
  });

  test('/start for the GitHub preset goes to OAUTH_GH_AUTHORIZATION_URL with the user:email scope, state and PKCE', async () => {
    const { res } = await start('gh', { returnTo: '/gh' });
    const q = authorizationRequest(res, world.gh.authorizationUrl);
    assert.equal(q.client_id, world.gh.clientId);
    assert.equal(q.redirect_uri, `${world.origin}/api/oauth/gh/callback`);
    assert.ok((q.scope ?? '').split(/[ ,]/).includes('user:email'), `GET /user/emails needs the user:email scope: ${q.scope}`);
    assert.ok(q.state && q.state.length >= 22, `state: ${q.state}`);
    assert.match(q.code_challenge ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(q.code_challenge_method, 'S256');
    expectFlowCookie(res);
  });

  test('returnTo: a path on this origin or a URL on an allowed origin is accepted; anything else is 400 invalid_query', async () => {
    for (const returnTo of ['/', '/dashboard', '/a/b?tab=2&x=%2F', `${ALLOWED_ORIGIN}/after`, `${ALLOWED_ORIGIN}/`, undefined]) {
      const { res } = await start('local', { returnTo });
      assert.equal(res.status, 302, `returnTo ${JSON.stringify(returnTo)} accepted: ${res.status} ${res.text}`);
      expectFlowCookie(res);
    }
    const refused = [
      '//evil.example/x', // protocol-relative: another host
      '/\\evil.example', // browsers read a backslash as a slash: //evil.example
      '\\\\evil.example',
      '/\t/evil.example', // browsers drop tabs and newlines from URLs: //evil.example
      '/\n/evil.example',
      'https://evil.example/',
      'http://localhost:5173.evil.example/', // an allowed origin's prefix is not that origin
      'http://localhost:5174/',
      'https://localhost:5173/', // another scheme, another origin
      'javascript:alert(document.cookie)',
      'data:text/html,<script>alert(1)</script>',
      'dashboard', // not a path with a leading /
    ];
    for (const returnTo of refused) {
      const { res } = await start('local', { returnTo });
      expectStatus(res, 400, 'invalid_query');
      assert.equal(res.location, undefined, `no redirect for returnTo ${JSON.stringify(returnTo)}`);
      assert.equal(res.cookies.userdo_oauth, undefined, `no flow cookie for returnTo ${JSON.stringify(returnTo)}`);
    }
  });

  test('an unknown provider is 404 not_found', async () => {
    const { res } = await start('nope', { returnTo: '/' });
    expectStatus(res, 404, 'not_found');
    assert.equal(res.cookies.userdo_oauth, undefined);
  });

  test('a first sign-in makes an account: the auth cookies as at login, the provider\'s email and verified flag, the identity listed', async () => {
    const email = uniqueEmail('first');
    const account = world.local.addAccount(tag('alice'), { email, email_verified: true });
    const started = Date.now();
    const r = await world.signIn('local', { query: { returnTo: '/welcome?new=1' }, login: account.login });
    const { token } = expectSignedIn(world, r, { returnTo: '/welcome?new=1' });
    // The browser's cookie works as a login's does (GET needs no Origin).
    const byCookie = expectStatus(await world.api('GET', '/api/me', { cookie: `token=${token}` }), 200).json.user;
    assertUser(byCookie, { email });
    assert.equal(byCookie.emailVerified, true);
    assert.ok(byCookie.createdAt >= started - 1000, 'a new account');
    assert.deepEqual(await me(world, token), byCookie);
    const identities = await identitiesOf(world, token);
    assert.deepEqual(identities.map(({ provider, email: e }) => ({ provider, email: e })), [{ provider: 'local', email }]);
    assert.ok(identities[0].linkedAt >= started - 1000 && identities[0].linkedAt <= Date.now() + 1000, JSON.stringify(identities));
    // The session is a session like any other.
    const sessions = expectStatus(await world.api('GET', '/api/sessions', { token }), 200).json.sessions;
    assert.equal(sessions.filter((s) => s.current).length, 1);

    // Signing in again (another browser, so the provider asks again): the same account, a new session.
    const again = await world.signIn('local', { query: { returnTo: '/' }, login: account.login });
    const second = expectSignedIn(world, again, { returnTo: '/' });
    assert.notEqual(second.token, token);
    assert.equal((await me(world, second.token)).id, byCookie.id);
    assert.equal((await identitiesOf(world, second.token)).length, 1, 'no second identity');
  });

  test('an email the provider has not verified makes an account with emailVerified false', async () => {
    const email = uniqueEmail('unverified');
    const account = world.local.addAccount(tag('u'), { email, email_verified: false });
    const r = await world.signIn('local', { login: account.login });
    const { token } = expectSignedIn(world, r);
    const user = await me(world, token);
    assert.equal(user.email, email);
    assert.equal(user.emailVerified, false);
  });

  test('a linked identity finds its account even when its email at the provider changed to another account\'s', async () => {
    const account = world.local.addAccount(tag('mover'), { email: uniqueEmail('before'), email_verified: true });
    const first = expectSignedIn(world, await world.signIn('local', { login: account.login }));
    const owner = await me(world, first.token);
    // Someone else holds a password account at the address the person now uses at the provider.
    const other = await signup(world);
    account.email = other.email;
    const later = expectSignedIn(world, await world.signIn('local', { login: account.login }));
    assert.equal((await me(world, later.token)).id, owner.id, 'the identity decides, not the email');
    const { token: otherToken } = expectStatus(await world.api('POST', '/api/login', { json: { email: other.email, password: PASSWORD } }), 200).json;
    assert.deepEqual(await identitiesOf(world, otherToken), [], 'the other account got no identity');
  });

  test('returnTo: a missing one means /, and a URL on an allowed origin is where the browser lands', async () => {
    const account = world.local.addAccount(tag('rt'), { email: uniqueEmail('rt') });
    expectSignedIn(world, await world.signIn('local', { query: {}, login: account.login }), { returnTo: '/' });
    expectSignedIn(world, await world.signIn('local', { query: { returnTo: `${ALLOWED_ORIGIN}/app?x=1` }, login: account.login }), { returnTo: `${ALLOWED_ORIGIN}/app?x=1` });
  });

  test('the callback refuses a state that is not its cookie\'s (invalid_state): tampered, missing, without the cookie, another browser\'s, another provider\'s', async () => {
    const email = uniqueEmail('state');
    const account = world.local.addAccount(tag('state'), { email });
    const stopped = async (query, jar = new BrowserJar()) => world.signIn('local', { query, jar, login: account.login, stopAtCallback: true });
    const withParam = (url, k, v) => { const u = new URL(url); if (v === undefined) u.searchParams.delete(k); else u.searchParams.set(k, v); return u.href; };

    // Tampered: the redirect goes to the returnTo kept in the cookie, its query kept.
    const a = await stopped({ returnTo: '/from-cookie?x=1' });
    expectOAuthError(world, await world.visit(a.jar, withParam(a.callbackUrl, 'state', 'A'.repeat(43))), 'invalid_state', { returnTo: '/from-cookie?x=1' });
    // Missing.
    const b = await stopped({ returnTo: '/b' });
    expectOAuthError(world, await world.visit(b.jar, withParam(b.callbackUrl, 'state', undefined)), 'invalid_state', { returnTo: '/b' });
    // No cookie at all (another browser, or it expired): returnTo is unknown, so /.
    const c = await stopped({ returnTo: '/c' });
    expectOAuthError(world, await world.visit(new BrowserJar(), c.callbackUrl), 'invalid_state', { returnTo: '/' });
    // Login CSRF: the attacker's own callback URL, opened in a victim's browser that has a flow of its own.
    const attacker = await stopped({ returnTo: '/attacker' });
    const victim = new BrowserJar();
    await world.begin(victim, 'local', { returnTo: '/victim' });
    expectOAuthError(world, await world.visit(victim, attacker.callbackUrl), 'invalid_state', { returnTo: '/victim' });
    // Another provider's flow: the cookie is of a start at evil, its state is in the URL, the path
    // is local's (a mix-up). Whether such a cookie's returnTo is used or it counts as invalid (/)
    // is left open; that it is refused as invalid_state is not.
    const mixed = await stopped({ returnTo: '/mixed' });
    const { state: evilState } = await world.begin(mixed.jar, 'evil', { returnTo: '/evil-flow' });
    expectOAuthError(world, await world.visit(mixed.jar, withParam(mixed.callbackUrl, 'state', evilState)), 'invalid_state', { returnTo: ['/evil-flow', '/'] });
    // A failure goes back to an allowed origin too, when that is the cookie's returnTo.
    const d = await stopped({ returnTo: `${ALLOWED_ORIGIN}/app?x=1` });
    expectOAuthError(world, await world.visit(d.jar, withParam(d.callbackUrl, 'state', 'wrong')), 'invalid_state', { returnTo: `${ALLOWED_ORIGIN}/app?x=1` });

    await assertNoAccount(world, email);
  });

  test('a denied consent comes back as oauth_error=access_denied, with no session and no account', async () => {
    const email = uniqueEmail('deny');
    const account = world.local.addAccount(tag('deny'), { email });
    const r = await world.signIn('local', { query: { returnTo: '/after-deny' }, login: account.login, consent: false });
    expectOAuthError(world, r, 'access_denied', { returnTo: '/after-deny' });
    assert.equal(new URL(r.callbackUrl).searchParams.get('error'), 'access_denied', 'the provider sent its error');
    await assertNoAccount(world, email);
  });

  test('a spent code signs no one in again: not from the same browser (its cookie is gone), not under an attacker\'s fresh state', async () => {
    const account = world.local.addAccount(tag('replay'), { email: uniqueEmail('replay') });
    const jar = new BrowserJar();
    const first = await world.signIn('local', { query: { returnTo: '/one' }, jar, login: account.login, stopAtCallback: true });
    const signedIn = await world.visit(jar, first.callbackUrl);
    expectSignedIn(world, { ...first, final: signedIn, stage: 'callback', location: signedIn.location }, { returnTo: '/one' });
    // The same URL again in the same browser: the flow cookie was cleared by the first use.
    expectOAuthError(world, await world.visit(jar, first.callbackUrl), 'invalid_state', { returnTo: '/' });
    // An attacker who learnt the URL (a log, a Referer) starts a flow of his own, so his browser has
    // a valid cookie, and presents the spent code under his own state: the provider refuses the
    // code (spent, and not bound to his PKCE verifier).
    const attacker = new BrowserJar();
    const { state } = await world.begin(attacker, 'local', { returnTo: '/mine' });
    const replay = new URL(first.callbackUrl);
    replay.searchParams.set('state', state);
    expectOAuthError(world, await world.visit(attacker, replay.href), 'exchange_failed', { returnTo: '/mine' });
  });

  test('a code injected into another browser\'s flow fails the PKCE check (exchange_failed)', async () => {
    const email = uniqueEmail('inject');
    const account = world.local.addAccount(tag('victim'), { email });
    // The victim's code, not yet used (intercepted on its way back), bound to the victim's verifier.
    const victim = await world.signIn('local', { query: { returnTo: '/v' }, login: account.login, stopAtCallback: true });
    const errorsBefore = world.local.errors.length;
    // The attacker's browser has a flow of its own: his state, his verifier.
    const attacker = new BrowserJar();
    const { state } = await world.begin(attacker, 'local', { returnTo: '/a' });
    const injected = new URL(victim.callbackUrl);
    injected.searchParams.set('state', state);
    expectOAuthError(world, await world.visit(attacker, injected.href), 'exchange_failed', { returnTo: '/a' });
    assert.ok(world.local.errors.slice(errorsBefore).some((e) => /code_verifier does not match/.test(e)), `the provider refused the verifier: ${JSON.stringify(world.local.errors.slice(errorsBefore))}`);
    await assertNoAccount(world, email);
  });

  test('a correct ID token of the second issuer signs in, RS256 and ES256', async () => {
    for (const alg of ['RS256', 'ES256']) {
      const email = uniqueEmail(`evil-ok-${alg}`);
      const account = world.evil.addAccount(tag(`ok-${alg}`), { email, alg });
      const { token } = expectSignedIn(world, await world.signIn('evil', { login: account.login }));
      assert.equal((await me(world, token)).email, email);
      assert.deepEqual((await identitiesOf(world, token)).map((i) => i.provider), ['evil']);
    }
  });

  test('after a key rotation the new key id makes the worker fetch the keys again, once, and sign in', async () => {
    const first = world.evil.addAccount(tag('rot1'), { email: uniqueEmail('rot1') });
    const secondEmail = uniqueEmail('rot2');
    expectSignedIn(world, await world.signIn('evil', { login: first.login })); // the keys are cached now
    const jwksFetches = () => world.evil.requests.filter((r) => r.path === '/jwks').length;
    const before = jwksFetches();
    const cached = expectSignedIn(world, await world.signIn('evil', { login: first.login }));
    assert.equal(jwksFetches(), before, 'a known key id is verified from the cached keys');
    assert.ok(cached.token);
    const oldKids = world.evil.kids();
    world.evil.rotateKeys();
    assert.notDeepEqual(world.evil.kids(), oldKids);
    const second = world.evil.addAccount(tag('rot2'), { email: secondEmail });
    const { token } = expectSignedIn(world, await world.signIn('evil', { login: second.login }));
    assert.equal((await me(world, token)).email, secondEmail);
    assert.equal(jwksFetches(), before + 1, 'one fresh fetch for the unknown key id');
  });

  for (const [tamper, what] of Object.entries(ID_TOKEN_TAMPERS)) {
    test(`an ID token with ${what} is refused: invalid_id_token, no session, no account (${tamper})`, async () => {
      const email = uniqueEmail(`evil-${tamper}`);
      const account = world.evil.addAccount(tag(tamper), { email, tamper, iss: tamper === 'iss' ? world.local.issuer : undefined });
      const r = await world.signIn('evil', { query: { returnTo: '/t?k=v' }, login: account.login });
      expectOAuthError(world, r, 'invalid_id_token', { returnTo: '/t?k=v' });
      await assertNoAccount(world, email);
    });
  }

  test('an unverified email never joins the password account that has it (email_not_verified); a verified one does', async () => {
    const owner = await signup(world);
    const unverified = world.local.addAccount(tag('lax'), { email: owner.email, email_verified: false });
    const r = await world.signIn('local', { query: { returnTo: '/x' }, login: unverified.login });
    expectOAuthError(world, r, 'email_not_verified', { returnTo: '/x' });
    assert.deepEqual(await identitiesOf(world, owner.token), [], 'the existing account is not linked');
    // The same person, once the provider has verified the address: linked, and signed in to that account.
    unverified.email_verified = true;
    const { token } = expectSignedIn(world, await world.signIn('local', { query: { returnTo: '/x' }, login: unverified.login }), { returnTo: '/x' });
    assert.equal((await me(world, token)).id, owner.user.id);
    assert.deepEqual((await identitiesOf(world, token)).map(({ provider, email }) => ({ provider, email })), [{ provider: 'local', email: owner.email }]);
    // The password still works.
    expectStatus(await world.api('POST', '/api/login', { json: { email: owner.email, password: PASSWORD } }), 200);
  });

  test('the email match is on the normalised address: a verified Mixed.Case@ one joins the lower-case account', async () => {
    const owner = await signup(world);
    const [name, domain] = owner.email.split('@');
    const account = world.local.addAccount(tag('case'), { email: `${name.toUpperCase()}@${domain.toUpperCase()}`, email_verified: true });
    const { token } = expectSignedIn(world, await world.signIn('local', { login: account.login }));
    const user = await me(world, token);
    assert.equal(user.id, owner.user.id);
    assert.equal(user.email, owner.email);
  });

  test('the client secrets never reach a browser (not the authorization URL, a header, a body) and go to their own provider only', async () => {
    // Flows of every kind here too, so this test stands alone; then every answer the worker gave in this file.
    expectStatus(await world.api('GET', '/api/oauth/providers'), 200);
    for (const id of ['local', 'evil', 'gh']) {
      await start(id, { returnTo: '/s' });
      await start(id, { returnTo: 'https://evil.example/' });
    }
    const okLocal = world.local.addAccount(tag('sec'), { email: uniqueEmail('sec') });
    await world.signIn('local', { login: okLocal.login });
    await world.signIn('local', { login: okLocal.login, consent: false });
    const okEvil = world.evil.addAccount(tag('sec'), { email: uniqueEmail('sec') });
    await world.signIn('evil', { login: okEvil.login });
    const badEvil = world.evil.addAccount(tag('sec-bad'), { email: uniqueEmail('sec'), tamper: 'aud' });
    await world.signIn('evil', { login: badEvil.login });
    const okGh = world.gh.addAccount(tag('sec'), { emails: [{ email: uniqueEmail('sec'), primary: true, verified: true }] });
    await world.signIn('gh', { login: okGh.login });
    const stopped = await world.signIn('local', { login: okLocal.login, stopAtCallback: true });
    const tampered = new URL(stopped.callbackUrl);
    tampered.searchParams.set('state', 'tampered');
    await world.visit(stopped.jar, tampered.href);

    const forms = (id, secret) => [secret, Buffer.from(secret).toString('base64'), Buffer.from(`${world.providers[id].clientId}:${secret}`).toString('base64')];
    assert.ok(world.responses.length >= 15, `${world.responses.length} answers seen`);
    for (const res of world.responses) {
      const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
      for (const [id, secret] of Object.entries(world.secrets)) {
        for (const form of forms(id, secret)) {
          for (const [where, text] of [['Location', res.location ?? ''], ['headers', headers], ['body', res.text ?? '']]) {
            assert.ok(!text.includes(form), `${id}'s client secret in the ${where} of ${res.method} ${res.url ?? res.path}`);
          }
        }
      }
    }
    // What reached the providers through the browser carries no secret either; each provider's
    // token endpoint saw only its own client's secret.
    for (const [id, provider] of Object.entries(world.providers)) {
      for (const req of provider.requests) {
        const seen = JSON.stringify(req.query) + JSON.stringify(req.headers);
        for (const [other, secret] of Object.entries(world.secrets)) {
          if (req.path.includes('token') && other === id) continue;
          assert.ok(!seen.includes(secret), `${other}'s client secret sent to ${id} (${req.method} ${req.path})`);
        }
      }
    }
    for (const provider of [world.evil, world.gh]) {
      assert.ok(provider.tokenRequests.length > 0, 'the token endpoint was used');
      for (const t of provider.tokenRequests) assert.equal(t.clientSecret, provider.clientSecret, 'only its own client secret');
    }
    // Nor in the worker's log (wrangler prints the variables of an env file as "(hidden)").
    const log = readFileSync(world.worker.logPath, 'utf8');
    for (const [id, secret] of Object.entries(world.secrets)) assert.ok(!log.includes(secret), `${id}'s client secret in ${world.worker.logPath}`);
    // The flow cookie does not carry a secret in the clear either.
    const { res } = await start('local');
    const flowCookie = parseCookies(res.setCookies).userdo_oauth?.value ?? '';
    for (const secret of Object.values(world.secrets)) assert.ok(!Buffer.from(flowCookie, 'base64url').toString('latin1').includes(secret) && !flowCookie.includes(secret));
  });
});
