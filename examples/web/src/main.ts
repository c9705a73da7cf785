// The web example: accounts, sessions, a todo list that updates live in every open tab, and teams
// (organizations) with shared notes (teams.ts), on the browser client (client-ts) of the default
// worker, which serves this page as static assets.
import {
  MAX_LIMIT,
  UserDoClient,
  UserDoError,
  type ProviderList,
  type Row,
  type RowChange,
  type SessionInfo,
  type Todo,
} from '../../../client-ts/src/index.js';
import { teams } from './teams.js';

const $ = <T extends HTMLElement = HTMLElement>(selector: string): T => {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`missing element ${selector}`);
  return element;
};

const ui = {
  account: $('#account'),
  whoami: $('#whoami'),
  logout: $<HTMLButtonElement>('#logout'),
  status: $('#status'),
  signedOut: $('#signed-out'),
  signedIn: $('#signed-in'),
  authForm: $<HTMLFormElement>('#auth-form'),
  providers: $('#providers'),
  resetRequest: $<HTMLFormElement>('#reset-request'),
  resetConfirm: $<HTMLFormElement>('#reset-confirm'),
  live: $('#live'),
  todoForm: $<HTMLFormElement>('#todo-form'),
  todos: $<HTMLUListElement>('#todos'),
  todoItem: $<HTMLTemplateElement>('#todo-item'),
  todoCount: $('#todo-count'),
  clearCompleted: $<HTMLButtonElement>('#clear-completed'),
  sessions: $<HTMLUListElement>('#sessions'),
  refreshSessions: $<HTMLButtonElement>('#refresh-sessions'),
};

// No token where a script could read it later: the access token lives in this page's memory and the
// refresh token in the worker's HttpOnly cookie, from which a reload or a new tab signs back in.
const client = new UserDoClient(location.origin, { cookies: true });
const todos = client.collection('todos');

// ---- status line ----

function say(message: string, error = false): void {
  ui.status.textContent = message;
  ui.status.classList.toggle('error', error);
}

function sayError(error: unknown): void {
  if (error instanceof UserDoError) {
    const details = Object.entries(error.details ?? {}).map(([field, messages]) => `${field}: ${messages.join(', ')}`);
    say([error.message, ...details].join(' · '), true);
  } else {
    say(error instanceof Error ? error.message : String(error), true);
  }
}

/** Runs `action` with the form's buttons disabled, reporting its error. */
async function busy(form: HTMLElement, action: () => Promise<void>): Promise<void> {
  const buttons = [...form.querySelectorAll('button')];
  for (const button of buttons) button.disabled = true;
  try {
    await action();
  } catch (error) {
    sayError(error);
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

const field = (form: HTMLFormElement, name: string): HTMLInputElement => {
  const input = form.elements.namedItem(name);
  if (!(input instanceof HTMLInputElement)) throw new Error(`missing input ${name}`);
  return input;
};

const team = teams(client, { $, say, sayError, busy, field });

// ---- signed in and out ----

let stopLive: (() => void) | null = null;
let leavingOnPurpose = false;

async function enter(): Promise<void> {
  ui.signedOut.hidden = true;
  ui.signedIn.hidden = false;
  ui.account.hidden = false;
  // Subscribe first, then load: nothing that changes in between is missed.
  stopLive ??= todos.onChange(applyChange);
  try {
    const user = await client.me();
    ui.whoami.textContent = user.email;
    await Promise.all([reloadTodos(), loadSessions(), team.enter(user)]);
  } catch (error) {
    sayError(error);
  }
}

function leave(): void {
  stopLive?.();
  stopLive = null;
  rows.clear();
  renderTodos();
  ui.sessions.replaceChildren();
  team.leave();
  ui.signedIn.hidden = true;
  ui.account.hidden = true;
  ui.signedOut.hidden = false;
  if (!leavingOnPurpose) say('Your session ended (logged out or revoked elsewhere). Log in again.', true);
  leavingOnPurpose = false;
}

client.onAuthChange((signedIn) => (signedIn ? void enter() : leave()));
client.realtime.onStatus((status) => {
  ui.live.textContent = status === 'open' ? 'live' : status;
  ui.live.classList.toggle('open', status === 'open');
});

ui.authForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const signup = (event.submitter as HTMLButtonElement | null)?.value === 'signup';
  const email = field(ui.authForm, 'email').value;
  const password = field(ui.authForm, 'password').value;
  void busy(ui.authForm, async () => {
    await (signup ? client.signup(email, password) : client.login(email, password));
    say(signup ? `Welcome, ${email}.` : `Logged in as ${email}.`);
    ui.authForm.reset();
  });
});

ui.logout.addEventListener('click', () => {
  leavingOnPurpose = true;
  void busy(ui.account, async () => {
    await client.logout();
    say('Logged out.');
  });
});

// ---- sign in with a provider: a plain link to the worker, which redirects to the provider and,
// once signed in there, back here with the session in its HttpOnly cookies (restore() picks it up)

async function showProviders(): Promise<void> {
  const res = await fetch('/api/oauth/providers');
  if (!res.ok) return;
  const { providers } = (await res.json()) as ProviderList;
  ui.providers.replaceChildren(
    ...providers.map(({ id, name }) => {
      const link = document.createElement('a');
      link.className = 'button secondary';
      link.dataset.provider = id;
      link.href = `/api/oauth/${encodeURIComponent(id)}/start?returnTo=${encodeURIComponent('/')}`;
      link.textContent = `Sign in with ${name}`;
      return link;
    }),
  );
  ui.providers.hidden = providers.length === 0;
}

/** A failed provider sign-in comes back as ?oauth_error=CODE: say so, and tidy the address. */
function showOAuthError(): void {
  const params = new URLSearchParams(location.search);
  const code = params.get('oauth_error');
  if (!code) return;
  say(`Sign-in with the provider failed (${code}).`, true);
  params.delete('oauth_error');
  const rest = params.toString();
  history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
}

showOAuthError();
void showProviders();

// ---- password reset: request, read the token from the dev outbox, confirm ----

/** The token of the newest reset mail in the dev outbox (only on a worker with DEV_OUTBOX=true). */
async function devOutboxToken(email: string): Promise<string | undefined> {
  const res = await fetch(`/api/dev/outbox?email=${encodeURIComponent(email)}`);
  if (!res.ok) return undefined;
  const { messages } = (await res.json()) as { messages: { subject: string; token: string }[] };
  return messages.filter((m) => /reset/i.test(m.subject)).at(-1)?.token;
}

ui.resetRequest.addEventListener('submit', (event) => {
  event.preventDefault();
  const email = field(ui.resetRequest, 'email').value;
  void busy(ui.resetRequest, async () => {
    await client.requestPasswordReset(email);
    const token = await devOutboxToken(email);
    field(ui.resetConfirm, 'token').value = token ?? '';
    ui.resetConfirm.hidden = false;
    say(token ? 'Reset mail sent; its token is filled in below.' : 'If that account exists, a reset mail is on its way.');
  });
});

ui.resetConfirm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = field(ui.resetConfirm, 'token').value;
  const newPassword = field(ui.resetConfirm, 'newPassword').value;
  void busy(ui.resetConfirm, async () => {
    await client.confirmPasswordReset(token, newPassword);
    field(ui.authForm, 'email').value = field(ui.resetRequest, 'email').value;
    ui.resetConfirm.reset();
    ui.resetConfirm.hidden = true;
    say('Password changed, and every session of the account ended. Log in with the new password.');
  });
});

// ---- todos: the rows shown, kept current by the change feed ----

const rows = new Map<string, Row<Todo>>();
/** Changes that arrive while the list loads; applied after it, so none is lost to the load. */
let queued: RowChange<Todo>[] | null = null;

function upsert(row: Row<Todo>): void {
  const shown = rows.get(row.id);
  if (!shown || shown.updatedAt <= row.updatedAt) rows.set(row.id, row);
}

function applyChange(change: RowChange<Todo>): void {
  if (queued) {
    queued.push(change);
    return;
  }
  if (change.op === 'resync') {
    void reloadTodos().catch(sayError);
    return;
  }
  if (change.op === 'delete') rows.delete(change.id);
  else upsert(change.row);
  renderTodos();
}

async function reloadTodos(): Promise<void> {
  queued ??= [];
  try {
    const { rows: list } = await todos.query({ orderBy: [['createdAt', 'asc']], limit: MAX_LIMIT });
    rows.clear();
    for (const row of list) rows.set(row.id, row);
  } finally {
    const changes = queued;
    queued = null;
    for (const change of changes) applyChange(change);
    renderTodos();
  }
}

function renderTodos(): void {
  const items = [...rows.values()]
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
    .map((row) => {
      const item = ui.todoItem.content.firstElementChild!.cloneNode(true) as HTMLLIElement;
      item.dataset.id = row.id;
      item.dataset.done = String(row.done);
      item.classList.toggle('done', row.done);
      item.querySelector('.title')!.textContent = row.title;
      item.querySelector<HTMLInputElement>('input')!.checked = row.done;
      item.querySelector('.delete')!.setAttribute('aria-label', `Delete ${row.title}`);
      return item;
    });
  ui.todos.replaceChildren(...items);
  const open = items.filter((item) => item.dataset.done === 'false').length;
  ui.todoCount.textContent = `${open} open, ${items.length - open} done`;
}

ui.todoForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const title = field(ui.todoForm, 'title');
  void busy(ui.todoForm, async () => {
    upsert(await todos.create({ title: title.value }));
    renderTodos();
    ui.todoForm.reset();
    title.focus();
  });
});

// Every tab shows the answer at once and hears the same change again over the feed (harmless:
// an older version never replaces a newer one).
ui.todos.addEventListener('change', (event) => {
  const box = event.target as HTMLInputElement;
  const id = box.closest('li')?.dataset.id;
  if (!id) return;
  void busy(ui.todos, async () => {
    upsert(await todos.update(id, { done: box.checked }));
    renderTodos();
  });
});

ui.todos.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest('button.delete');
  const id = button?.closest('li')?.dataset.id;
  if (!id) return;
  void busy(ui.todos, async () => {
    await todos.delete(id);
    rows.delete(id);
    renderTodos();
  });
});

ui.clearCompleted.addEventListener('click', () => {
  void busy(ui.clearCompleted.parentElement!, async () => {
    const { deleted } = (await client.call('clearCompleted')) as { deleted: number };
    await reloadTodos();
    say(`Cleared ${deleted} completed todo${deleted === 1 ? '' : 's'}.`);
  });
});

// ---- sessions ----

const when = (ms: number): string => new Date(ms).toLocaleString();

async function loadSessions(): Promise<void> {
  const sessions = await client.sessions.list();
  ui.sessions.replaceChildren(...sessions.map(sessionItem));
}

function sessionItem(session: SessionInfo): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.id = session.id;
  const text = document.createElement('div');
  const agent = document.createElement('span');
  agent.textContent = (session.current ? 'This tab · ' : '') + (session.userAgent || 'unknown browser');
  const times = document.createElement('small');
  times.textContent = `signed in ${when(session.createdAt)}, last used ${when(session.lastUsedAt)}`;
  text.append(agent, document.createElement('br'), times);
  const revoke = document.createElement('button');
  revoke.type = 'button';
  revoke.className = 'secondary';
  revoke.textContent = session.current ? 'Log out' : 'Revoke';
  revoke.addEventListener('click', () => {
    if (session.current) {
      ui.logout.click();
      return;
    }
    void busy(item, async () => {
      await client.sessions.revoke(session.id);
      say('Session revoked: that browser is signed out now.');
      await loadSessions();
    });
  });
  item.append(text, revoke);
  return item;
}

ui.refreshSessions.addEventListener('click', () => void busy(ui.refreshSessions.parentElement!, loadSessions));

// ---- start ----

// Signed in already if this browser has a live session (its refresh cookie); enter() runs then,
// from onAuthChange.
void client.restore().then(
  (signedIn) => {
    if (!signedIn) {
      leavingOnPurpose = true;
      leave();
    }
  },
  (error: unknown) => {
    leavingOnPurpose = true;
    leave();
    sayError(error);
  },
);
