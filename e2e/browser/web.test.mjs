// The web example (examples/web) in a real browser: Debian's Chromium, headless, driven by
// playwright-core, against the default worker under wrangler dev, which serves the page as its
// static assets. Every wait is for an element or a state, never a fixed time.
//
//   node --test e2e/browser/web.test.mjs     (make test: the web-test step)
//
// Screenshots go to e2e/artifacts/. USERDO_DOCS_SCREENSHOT=1 also copies the todo screenshot to
// docs/web-example.png (the README's picture).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { startWorker, testVars } from '../run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = join(root, 'e2e', 'artifacts');
const PASSWORD = 'correct horse battery';

let server;
let browser;

before(async () => {
  // The page (always; a few milliseconds) and the worker (only when there is no build).
  const cargoBin = join(process.env.CARGO_HOME ?? join(process.env.HOME ?? '', '.cargo'), 'bin');
  const build = spawnSync('bash', [join(root, 'scripts/build-worker.sh')], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, USERDO_SKIP_BUILD: '1', PATH: [join(root, 'node_modules/.bin'), cargoBin, process.env.PATH].join(delimiter) },
  });
  assert.equal(build.status, 0, 'scripts/build-worker.sh failed');
  server = await startWorker({ name: 'wrangler-web', vars: testVars() });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * Opens the page in a browser context of its own (its own localStorage: another device), or as
 * another tab of `context`.
 */
async function openPage(context) {
  const own = !context;
  context ??= await browser.newContext({ viewport: { width: 760, height: 560 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(server.url + '/');
  return { page, errors, context, close: () => (own ? context.close() : page.close()) };
}

/** Signs in through the form: `button` is 'Sign up' or 'Log in'. */
async function signIn(page, email, password, button) {
  const form = page.locator('#auth-form');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: button, exact: true }).click();
  await page.locator('#whoami', { hasText: email }).waitFor();
}

const todo = (page, title) => page.locator('#todos li', { hasText: title });

test('a todo added in one page appears in another without a reload, and so does its toggle', async () => {
  const one = await openPage();
  const two = await openPage();
  try {
    await signIn(one.page, 'ada@example.com', PASSWORD, 'Sign up');
    await signIn(two.page, 'ada@example.com', PASSWORD, 'Log in');
    await one.page.locator('#live.open').waitFor();
    await two.page.locator('#live.open').waitFor();
    // Survives only as long as the page is not reloaded.
    await two.page.evaluate(() => { window.notReloaded = true; });

    await one.page.getByLabel('New todo').fill('buy milk');
    await one.page.getByRole('button', { name: 'Add', exact: true }).click();
    await todo(two.page, 'buy milk').waitFor();

    await todo(two.page, 'buy milk').getByRole('checkbox').check();
    await one.page.locator('#todos li[data-done="true"]', { hasText: 'buy milk' }).waitFor();

    await two.page.getByLabel('New todo').fill('write the README');
    await two.page.getByRole('button', { name: 'Add', exact: true }).click();
    await todo(one.page, 'write the README').waitFor();
    await one.page.locator('#todo-count', { hasText: '1 open, 1 done' }).waitFor();
    assert.equal(await two.page.evaluate(() => window.notReloaded), true);

    // The sessions list now shows both browsers.
    await one.page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await one.page.locator('#sessions li').nth(1).waitFor();
    await one.page.locator('#status').evaluate((status) => { status.textContent = ''; });

    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, 'web-todos.png');
    await one.page.screenshot({ path: shot, fullPage: true });
    await two.page.screenshot({ path: join(artifacts, 'web-todos-second-page.png'), fullPage: true });
    if (process.env.USERDO_DOCS_SCREENSHOT === '1') copyFileSync(shot, join(root, 'docs', 'web-example.png'));

    // Clear completed (the application's remote method) removes the done one everywhere.
    await one.page.getByRole('button', { name: 'Clear completed' }).click();
    await two.page.locator('#todo-count', { hasText: '1 open, 0 done' }).waitFor();
    assert.equal(await todo(two.page, 'buy milk').count(), 0);

    // Delete, live too.
    await todo(two.page, 'write the README').getByRole('button', { name: 'Delete write the README' }).click();
    await one.page.locator('#todo-count', { hasText: '0 open, 0 done' }).waitFor();

    assert.deepEqual([...one.errors, ...two.errors], []);
  } finally {
    await one.close();
    await two.close();
  }
});

test('two tabs of one browser share the sign-in from the HttpOnly cookie (no token a script can read), survive a reload, update live, and a logout ends both', async () => {
  const one = await openPage();
  try {
    await signIn(one.page, 'tabs@example.com', PASSWORD, 'Sign up');
    // No token where a script can read it: not in either storage, not in a cookie scripts see.
    const readable = await one.page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
    assert.equal(readable, JSON.stringify([{}, {}, '']));
    const cookies = await one.context.cookies();
    assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly]).sort(), [['refreshToken', true], ['token', true]]);
    const two = await openPage(one.context);
    // Signed in from the HttpOnly refresh cookie the first tab's sign-in set.
    await two.page.locator('#whoami', { hasText: 'tabs@example.com' }).waitFor();
    await one.page.locator('#live.open').waitFor();
    await two.page.locator('#live.open').waitFor();

    await two.page.getByLabel('New todo').fill('from the second tab');
    await two.page.getByRole('button', { name: 'Add', exact: true }).click();
    await todo(one.page, 'from the second tab').waitFor();

    // A reload signs back in from the cookie, and the first tab's session goes on beside it: the
    // tabs took turns spending the refresh token.
    await two.page.reload();
    await two.page.locator('#whoami', { hasText: 'tabs@example.com' }).waitFor();
    await two.page.locator('#live.open').waitFor();
    await one.page.getByLabel('New todo').fill('after the reload');
    await one.page.getByRole('button', { name: 'Add', exact: true }).click();
    await todo(two.page, 'after the reload').waitFor();

    // One session for both tabs: logging out in one ends it, and the other's socket closes (4001).
    await one.page.locator('#account').getByRole('button', { name: 'Log out' }).click();
    await one.page.locator('#status', { hasText: 'Logged out.' }).waitFor();
    await two.page.locator('#signed-out').waitFor();
    // The cookies went with the session: a reload stays signed out.
    assert.deepEqual(await one.context.cookies(), []);
    await two.page.reload();
    await two.page.locator('#signed-out').waitFor({ state: 'visible' });
    assert.deepEqual([...one.errors, ...two.errors], []);
  } finally {
    await one.close();
  }
});

test('revoking a session in one page signs the other page out', async () => {
  const one = await openPage();
  const two = await openPage();
  try {
    await signIn(one.page, 'grace@example.com', PASSWORD, 'Sign up');
    await signIn(two.page, 'grace@example.com', PASSWORD, 'Log in');
    await two.page.locator('#live.open').waitFor();

    await one.page.getByRole('button', { name: 'Refresh', exact: true }).click();
    const sessions = one.page.locator('#sessions li');
    await sessions.nth(1).waitFor();
    assert.equal(await sessions.count(), 2);
    // The other browser's session: the one that is not "This tab".
    await sessions.filter({ hasNotText: 'This tab' }).getByRole('button', { name: 'Revoke' }).click();

    // Its socket closes with 4001 and the page signs out, with no reload.
    await two.page.locator('#signed-out').waitFor();
    await two.page.locator('#status', { hasText: 'Your session ended' }).waitFor();
    await one.page.locator('#sessions li').nth(1).waitFor({ state: 'detached' });
    assert.equal(await one.page.locator('#sessions li').count(), 1);
    assert.deepEqual([...one.errors, ...two.errors], []);
  } finally {
    await one.close();
    await two.close();
  }
});

test('a password reset through the page: request, token from the dev outbox, confirm, log in', async () => {
  const { page, errors, close } = await openPage();
  try {
    await signIn(page, 'linus@example.com', PASSWORD, 'Sign up');
    await page.locator('#account').getByRole('button', { name: 'Log out' }).click();
    await page.locator('#signed-out').waitFor();
    await page.locator('#status', { hasText: 'Logged out.' }).waitFor();

    const request = page.locator('#reset-request');
    await request.getByLabel('Email').fill('linus@example.com');
    await request.getByRole('button', { name: 'Send reset mail' }).click();
    const confirm = page.locator('#reset-confirm');
    await confirm.waitFor();
    assert.match(await confirm.getByLabel('Reset token').inputValue(), /\S{20,}/);
    await confirm.getByLabel('New password').fill('a brand new password');
    await confirm.getByRole('button', { name: 'Set new password' }).click();
    await page.locator('#status', { hasText: 'Password changed' }).waitFor();

    // The old password no longer works; the new one does.
    const form = page.locator('#auth-form');
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.locator('#status.error').waitFor();
    await signIn(page, 'linus@example.com', 'a brand new password', 'Log in');
    await page.locator('#live.open').waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a team: A creates it and invites B, B accepts with the token from the dev outbox, notes show up live in both pages, and when A removes B, B\'s page loses access', async () => {
  const a = await openPage();
  const b = await openPage();
  const teamName = 'Moonshot team';
  try {
    await signIn(a.page, 'owner@teams.example', PASSWORD, 'Sign up');
    await signIn(b.page, 'member@teams.example', PASSWORD, 'Sign up');

    // A creates the team: it is listed, selected, and its feed is live.
    await a.page.getByLabel('New team name').fill(teamName);
    await a.page.getByRole('button', { name: 'Create team' }).click();
    await a.page.locator('#team-list li', { hasText: teamName }).waitFor();
    await a.page.locator('#team-name', { hasText: teamName }).waitFor();
    await a.page.locator('#team-role', { hasText: 'owner' }).waitFor();
    await a.page.locator('#team-live.open').waitFor();
    await a.page.locator('#members li', { hasText: 'owner@teams.example · owner' }).waitFor();

    // A invites B by email.
    await a.page.getByLabel('Invite by email').fill('member@teams.example');
    await a.page.getByRole('button', { name: 'Invite', exact: true }).click();
    await a.page.locator('#status', { hasText: 'Invitation sent to member@teams.example' }).waitFor();

    // B has no team yet; the dev button fetches the token from the dev outbox, and B accepts it.
    assert.equal(await b.page.locator('#team-list li').count(), 0);
    await b.page.getByRole('button', { name: 'dev: fetch my invitation' }).click();
    await b.page.locator('#status', { hasText: 'invitation token is filled in' }).waitFor();
    assert.match(await b.page.getByLabel('Invitation token').inputValue(), /\S{20,}/);
    await b.page.getByRole('button', { name: 'Accept invitation' }).click();
    await b.page.locator('#team-list li', { hasText: teamName }).waitFor();
    await b.page.locator('#team-name', { hasText: teamName }).waitFor();
    await b.page.locator('#team-role', { hasText: 'member' }).waitFor();
    await b.page.locator('#team-live.open').waitFor();
    // A's members list heard of B over the team's feed, without a reload.
    await a.page.locator('#members li', { hasText: 'member@teams.example · member' }).waitFor();
    // A member invites nobody and removes nobody.
    assert.equal(await b.page.locator('#invite-form').isVisible(), false);
    assert.equal(await b.page.getByRole('button', { name: /^Remove / }).count(), 0);

    // A note from A appears in B's page live, and one from B in A's.
    await a.page.evaluate(() => { window.notReloaded = true; });
    await b.page.evaluate(() => { window.notReloaded = true; });
    await a.page.getByLabel('New note').fill('plan the launch');
    await a.page.getByRole('button', { name: 'Add note' }).click();
    await b.page.locator('#notes li', { hasText: 'plan the launch' }).waitFor();
    await b.page.getByLabel('New note').fill('book the venue');
    await b.page.getByRole('button', { name: 'Add note' }).click();
    await a.page.locator('#notes li', { hasText: 'book the venue' }).waitFor();
    assert.deepEqual(await a.page.evaluate(() => window.notReloaded), true);
    assert.deepEqual(await b.page.evaluate(() => window.notReloaded), true);
    // The team's notes are not the user's todos.
    assert.equal(await b.page.locator('#todos li').count(), 0);

    mkdirSync(artifacts, { recursive: true });
    await a.page.locator('#status').evaluate((status) => { status.textContent = ''; });
    await a.page.locator('#teams').screenshot({ path: join(artifacts, 'web-team.png') });

    // A removes B: B's page says its access ended, without a reload, and stops showing the team.
    await a.page.getByRole('button', { name: 'Remove member@teams.example' }).click();
    await a.page.locator('#members li', { hasText: 'member@teams.example' }).waitFor({ state: 'detached' });
    const lost = b.page.locator('#team-lost');
    // The socket's close (4003) can take about 10 s to arrive locally (README, Limits).
    await lost.waitFor({ state: 'visible', timeout: 45_000 });
    assert.match(await lost.textContent(), new RegExp(`Your access to ${teamName} ended`));
    await b.page.locator('#team-live', { hasText: 'ended' }).waitFor();
    assert.equal(await b.page.locator('#team-list li', { hasText: teamName }).count(), 0);
    assert.equal(await b.page.locator('#notes li').count(), 0);
    assert.equal(await b.page.locator('#note-form').isVisible(), false);
    assert.equal(await b.page.evaluate(() => window.notReloaded), true);
    await b.page.locator('#teams').screenshot({ path: join(artifacts, 'web-team-access-lost.png') });
    // B is still signed in, and A's team goes on.
    await b.page.locator('#whoami', { hasText: 'member@teams.example' }).waitFor();
    await b.page.locator('#live.open').waitFor();
    await a.page.getByLabel('New note').fill('after the removal');
    await a.page.getByRole('button', { name: 'Add note' }).click();
    await a.page.locator('#notes li', { hasText: 'after the removal' }).waitFor();
    assert.equal(await b.page.locator('#notes li', { hasText: 'after the removal' }).count(), 0);
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await a.close();
    await b.close();
  }
});
