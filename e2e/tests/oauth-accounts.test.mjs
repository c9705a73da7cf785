// Accounts and their sign-in identities, against a worker of its own with the three providers of
// e2e/lib/oauth-world.mjs: linking while signed in (`/start?link=true`), the identity list,
// unlinking and the last way to sign in, an identity that belongs to another account, accounts
// made by a provider (no password until a reset gives one), and the GitHub preset (the primary
// verified address of /user/emails, its refusals).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectStatus } from '../lib/api.mjs';
import { BrowserJar } from '../lib/oidc.mjs';
import {
  PASSWORD,
  assertNoAccount,
  expectOAuthError,
  expectSignedIn,
  identitiesOf,
  me,
  signedInJar,
  signup,
  startOAuthWorld,
  tag,
  uniqueEmail,
} from '../lib/oauth-world.mjs';

describe('accounts and their sign-in identities', () => {
  let world;
  before(async () => {
    world = await startOAuthWorld({ name: 'oauth-accounts' });
  });
  after(() => world?.close());

  /** A new account made by signing in at `local`: { account (the provider's), email, token, refreshToken, user }. */
  const providerMade = async () => {
    const email = uniqueEmail('made');
    const account = world.local.addAccount(tag('made'), { email, email_verified: true });
    const session = expectSignedIn(world, await world.signIn('local', { login: account.login }));
    return { account, email, ...session, user: await me(world, session.token) };
  };
  /** Links an identity of provider `id` (login `login`) to the account of `session`, in its browser. */
  const link = (id, session, login, returnTo = '/settings') => world.signIn(id, {
    query: { link: 'true', returnTo },
    jar: signedInJar(world, session),
    login,
  });
  /** DELETE /api/identities/{provider} as the browser does it: the cookie and the worker's Origin. */
  const unlink = (session, provider) => world.api('DELETE', `/api/identities/${provider}`, { cookie: `token=${session.token}`, origin: world.origin });
  const ghAccount = (email = uniqueEmail('gh'), extra = {}) => world.gh.addAccount(tag('octo'), { emails: [{ email, primary: true, verified: true }], ...extra });

  test('GET /api/identities needs a session', async () => {
    expectStatus(await world.api('GET', '/api/identities'), 401, 'unauthenticated');
    const owner = await signup(world);
    assert.deepEqual(await identitiesOf(world, owner.token), [], 'a password account has none');
  });

  test('signed in, /start?link=true links the identity to the current account, whatever its email; a second provider lists two', async () => {
    const owner = await signup(world);
    const elsewhere = uniqueEmail('elsewhere');
    const account = world.local.addAccount(tag('linker'), { email: elsewhere, email_verified: true });
    const r = await link('local', owner, account.login, '/settings');
    expectSignedIn(world, r, { returnTo: '/settings', session: false });
    const after1 = await me(world, owner.token);
    assert.equal(after1.id, owner.user.id);
    assert.equal(after1.email, owner.email, 'linking does not change the account\'s email');
    assert.deepEqual((await identitiesOf(world, owner.token)).map(({ provider, email }) => ({ provider, email })), [{ provider: 'local', email: elsewhere }]);

    const ghEmail = uniqueEmail('gh-link');
    const octo = ghAccount(ghEmail);
    expectSignedIn(world, await link('gh', owner, octo.login), { returnTo: '/settings', session: false });
    assert.deepEqual((await identitiesOf(world, owner.token)).map(({ provider, email }) => ({ provider, email })), [
      { provider: 'gh', email: ghEmail },
      { provider: 'local', email: elsewhere },
    ]);
    // Both now sign in to this account, in a browser that was never signed in.
    for (const [id, login] of [['local', account.login], ['gh', octo.login]]) {
      const s = expectSignedIn(world, await world.signIn(id, { login }));
      assert.equal((await me(world, s.token)).id, owner.user.id);
    }
    await assertNoAccount(world, elsewhere);
  });

  test('DELETE /api/identities/{provider} unlinks: 200 {ok:true}, and that identity no longer reaches the account', async () => {
    const owner = await signup(world);
    const email = uniqueEmail('unlinked');
    const account = world.local.addAccount(tag('unlink'), { email, email_verified: true });
    expectSignedIn(world, await link('local', owner, account.login), { returnTo: '/settings', session: false });
    // A state change by cookie: an Origin of its own is required, as everywhere.
    expectStatus(await world.api('DELETE', '/api/identities/local', { cookie: `token=${owner.token}`, origin: 'https://evil.example' }), 403, 'csrf_rejected');
    const res = expectStatus(await unlink(owner, 'local'), 200);
    assert.deepEqual(res.json, { ok: true });
    assert.deepEqual(await identitiesOf(world, owner.token), []);
    // Signing in with it now is a stranger's first sign-in: a new account for its own email.
    const s = expectSignedIn(world, await world.signIn('local', { login: account.login }));
    const stranger = await me(world, s.token);
    assert.notEqual(stranger.id, owner.user.id);
    assert.equal(stranger.email, email);
  });

  test('an account made by a provider cannot remove its last way to sign in (409 conflict); with a second identity it can', async () => {
    const made = await providerMade();
    const refused = expectStatus(await unlink(made, 'local'), 409, 'conflict');
    assert.ok(refused.json.error.message.length > 0);
    assert.deepEqual((await identitiesOf(world, made.token)).map((i) => i.provider), ['local'], 'still linked');
    expectSignedIn(world, await link('gh', made, ghAccount().login), { returnTo: '/settings', session: false });
    expectStatus(await unlink(made, 'local'), 200);
    assert.deepEqual((await identitiesOf(world, made.token)).map((i) => i.provider), ['gh']);
    expectStatus(await unlink(made, 'gh'), 409, 'conflict');
    assert.deepEqual((await identitiesOf(world, made.token)).map((i) => i.provider), ['gh']);
  });

  test('an identity linked to one account cannot be linked to another (identity_taken)', async () => {
    const made = await providerMade();
    const other = await signup(world);
    const r = await link('local', other, made.account.login, '/settings?tab=ids');
    expectOAuthError(world, r, 'identity_taken', { returnTo: '/settings?tab=ids' });
    assert.deepEqual(await identitiesOf(world, other.token), [], 'the other account got nothing');
    assert.deepEqual((await identitiesOf(world, made.token)).map((i) => i.provider), ['local'], 'the owner keeps it');
    // The session of the one who tried is still the one it was.
    assert.equal((await me(world, other.token)).id, other.user.id);
  });

  test('an account made by a provider has no password: login is 401 invalid_credentials; a reset gives it one', async () => {
    const made = await providerMade();
    for (const password of [PASSWORD, 'any other password', '12345678']) {
      expectStatus(await world.api('POST', '/api/login', { json: { email: made.email, password } }), 401, 'invalid_credentials');
    }
    expectStatus(await world.api('POST', '/api/password-reset/request', { json: { email: made.email } }), 202);
    const messages = expectStatus(await world.api('GET', `/api/dev/outbox?email=${encodeURIComponent(made.email)}`), 200).json.messages;
    assert.ok(messages.length > 0, 'the reset mail is in the outbox');
    const { token } = messages.at(-1);
    const newPassword = 'a password of its own';
    expectStatus(await world.api('POST', '/api/password-reset/confirm', { json: { token, newPassword } }), 200);
    const login = expectStatus(await world.api('POST', '/api/login', { json: { email: made.email, password: newPassword } }), 200).json;
    assert.equal(login.user.id, made.user.id);
    // Now the password is a way to sign in: the identity is no longer the last one.
    expectStatus(await unlink({ token: login.token }, 'local'), 200);
    assert.deepEqual(await identitiesOf(world, login.token), []);
  });

  test('GitHub: the primary verified address of /user/emails, not /user\'s public one nor another verified one; the same account next time', async () => {
    const primary = uniqueEmail('gh-primary');
    const account = world.gh.addAccount(tag('octo'), {
      publicEmail: uniqueEmail('gh-public'),
      emails: [
        { email: uniqueEmail('gh-secondary'), primary: false, verified: true },
        { email: primary, primary: true, verified: true },
      ],
    });
    const { token } = expectSignedIn(world, await world.signIn('gh', { query: { returnTo: '/gh' }, login: account.login }), { returnTo: '/gh' });
    const user = await me(world, token);
    assert.equal(user.email, primary);
    assert.equal(user.emailVerified, true);
    assert.deepEqual((await identitiesOf(world, token)).map(({ provider, email }) => ({ provider, email })), [{ provider: 'gh', email: primary }]);
    const again = expectSignedIn(world, await world.signIn('gh', { login: account.login }));
    assert.equal((await me(world, again.token)).id, user.id);
    // What GitHub asks of a client: a User-Agent on every API call, the code's PKCE verifier.
    assert.ok(world.gh.apiRequests.length > 0 && world.gh.apiRequests.every((a) => a.userAgent), JSON.stringify(world.gh.apiRequests.slice(-2)));
    assert.ok(world.gh.tokenRequests.at(-1).codeVerifier, 'the token request carries the code_verifier');
  });

  test('GitHub: a primary address that is not verified does not join the account that has it (email_not_verified)', async () => {
    const owner = await signup(world);
    const account = world.gh.addAccount(tag('octo-u'), {
      emails: [{ email: owner.email, primary: true, verified: false }, { email: uniqueEmail('gh-v'), primary: false, verified: true }],
    });
    expectOAuthError(world, await world.signIn('gh', { query: { returnTo: '/gh' }, login: account.login }), 'email_not_verified', { returnTo: '/gh' });
    assert.deepEqual(await identitiesOf(world, owner.token), []);
  });

  test('GitHub: a denied authorization is access_denied; a failing API is provider_error; neither makes an account', async () => {
    const email = uniqueEmail('gh-deny');
    const denier = ghAccount(email);
    expectOAuthError(world, await world.signIn('gh', { query: { returnTo: '/d' }, login: denier.login, consent: false }), 'access_denied', { returnTo: '/d' });
    const brokenEmail = uniqueEmail('gh-500');
    const broken = ghAccount(brokenEmail, { emailsStatus: 500 });
    expectOAuthError(world, await world.signIn('gh', { query: { returnTo: '/e' }, login: broken.login }), 'provider_error', { returnTo: '/e' });
    await assertNoAccount(world, email);
    await assertNoAccount(world, brokenEmail);
  });

  test('a sign-in with link=true but no session is refused or is an ordinary sign-in: never a link to someone', async () => {
    // The contract leaves open what link=true without a session does; whatever it is, it cannot
    // attach the identity to an account other than the one that identity or its email leads to.
    const email = uniqueEmail('nolink');
    const account = world.local.addAccount(tag('nolink'), { email, email_verified: true });
    const r = await world.signIn('local', { query: { link: 'true', returnTo: '/n' }, jar: new BrowserJar(), login: account.login });
    if (r.stage === 'start') {
      assert.ok([400, 401].includes(r.start.status) || (r.start.status === 302 && new URL(r.start.location).searchParams.get('oauth_error')), `${r.start.status} ${r.start.text}`);
      return;
    }
    const to = new URL(r.final.rawLocation ?? r.location, world.origin);
    if (to.searchParams.get('oauth_error')) return;
    const s = expectSignedIn(world, r, { returnTo: '/n' });
    assert.equal((await me(world, s.token)).email, email);
  });
});

describe('sign-ins through a provider count as logins of the IP', () => {
  let world;
  before(async () => {
    world = await startOAuthWorld({ name: 'oauth-limits', vars: { RATE_LIMIT_LOGIN_PER_IP: '3/3600' } });
  });
  after(() => world?.close());

  test('a sign-in over the per-IP login limit is oauth_error=rate_limited with no session, and the password logins of that IP are 429 too', async () => {
    // A callback without a valid state is refused before it is counted.
    const stray = await world.visit(new BrowserJar(), `${world.origin}/api/oauth/local/callback?code=x&state=y`);
    expectOAuthError(world, stray, 'invalid_state');
    const account = world.local.addAccount(tag('limited'), { email: uniqueEmail('limited'), email_verified: true });
    for (let i = 0; i < 3; i++) {
      expectSignedIn(world, await world.signIn('local', { login: account.login }));
    }
    expectOAuthError(world, await world.signIn('local', { login: account.login }), 'rate_limited');
    const owner = uniqueEmail('limited-pw');
    const login = await world.api('POST', '/api/login', { json: { email: owner, password: PASSWORD } });
    expectStatus(login, 429, 'rate_limited');
    assert.ok(Number(login.headers.get('retry-after')) > 0, 'an honest Retry-After');
  });
});
