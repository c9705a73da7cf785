// The web example's "Sign in with ..." in a real browser: the page lists the providers the worker
// configures, and a click goes through a real OpenID Connect provider (oidc-provider, run here on
// 127.0.0.1) and back, signed in from the HttpOnly cookies with no token a script can read. A
// failed sign-in comes back with its oauth_error shown. Every wait is for an element or a state.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium } from './chromium.mjs';
import { startOidcProvider } from '../lib/oidc.mjs';
import { startWorker, testVars } from '../run.mjs';


let provider;
let server;
let browser;

before(async () => {
  provider = await startOidcProvider({ name: 'Local OIDC' });
  server = await startWorker({
    name: 'wrangler-web-oauth',
    vars: { ...testVars(), OAUTH_PROVIDERS: 'local', ...provider.vars('LOCAL') },
  });
  provider.setRedirectUris([`${server.url}/api/oauth/local/callback`]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await provider?.close();
});

async function openPage() {
  const context = await browser.newContext({ viewport: { width: 760, height: 560 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(server.url + '/');
  return { page, context, errors };
}

test('"Sign in with Local OIDC" goes through the provider and back, signed in by HttpOnly cookies', async () => {
  const email = `browser-${Date.now()}@example.com`;
  provider.addAccount('ada', { email, email_verified: true });
  const { page, context, errors } = await openPage();
  try {
    const button = page.getByRole('link', { name: 'Sign in with Local OIDC' });
    await button.click();
    // The provider's own pages: its login form, then its consent form.
    await page.locator('form[data-step="login"]').waitFor();
    assert.ok(page.url().startsWith(provider.issuer), page.url());
    await page.getByLabel('Login').fill('ada');
    await page.locator('form[data-step="login"] button').click();
    await page.locator('form[data-step="consent"] button').click();
    // Back on the page, signed in.
    await page.locator('#whoami', { hasText: email }).waitFor();
    assert.equal(new URL(page.url()).origin, server.url);
    await page.locator('#live.open').waitFor();
    const readable = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
    assert.equal(readable, JSON.stringify([{}, {}, '']));
    // Cookies are not kept apart by port: the provider's own (on 127.0.0.1 too) are left out.
    const ours = (await context.cookies(server.url)).filter((c) => !c.name.startsWith('_session'));
    assert.deepEqual(ours.map((c) => [c.name, c.httpOnly]).sort(), [['refreshToken', true], ['token', true]]);
    // The account is usable like any other: a todo, and the identity is listed.
    await page.getByLabel('New todo').fill('signed in by a provider');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#todos li', { hasText: 'signed in by a provider' }).waitFor();
    const identities = await page.evaluate(async () => (await fetch('/api/identities', { credentials: 'include' })).json());
    assert.deepEqual(identities.identities.map((i) => [i.provider, i.email]), [['local', email]]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a sign-in refused at the provider comes back with its error shown and no session', async () => {
  const { page, context } = await openPage();
  try {
    await page.getByRole('link', { name: 'Sign in with Local OIDC' }).click();
    await page.locator('form[data-step="login"]').waitFor();
    // The person gives up at the provider (its Cancel): it sends them back with access_denied.
    await page.locator('form[data-step="deny"] button').click();
    await page.locator('#status.error', { hasText: 'Sign-in with the provider failed (access_denied)' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('oauth_error'), null, 'the address is tidied');
    await page.locator('#signed-out').waitFor();
    const cookies = await context.cookies(server.url);
    assert.deepEqual(cookies.filter((c) => c.name === 'token' || c.name === 'refreshToken'), []);
  } finally {
    await context.close();
  }
});
