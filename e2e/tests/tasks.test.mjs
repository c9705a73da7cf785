// Scheduled work: an application task (the default worker's `remindLater`) runs from the Durable
// Object alarm, with no request to wake it, and survives a restart of the runtime between being
// scheduled and coming due.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PASSWORD, call, expectStatus, newUser, uniqueEmail } from '../lib/api.mjs';
import { Socket, socketFor } from '../lib/ws.mjs';
import { startWorker, testVars } from '../run.mjs';

/** Awaits the `table:todos` create event of a todo titled `title`, skipping any other message. */
async function todoCreated(socket, title, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const message = await socket.next(Math.max(1, deadline - Date.now()));
    if (message.event === 'table:todos' && message.data.op === 'create' && message.data.row.title === title) return message;
  }
}

describe('scheduled tasks', () => {
  test('a task runs when due, from the alarm, and its change reaches the sockets', async () => {
    const u = await newUser({ tag: 'task' });
    const s = await socketFor(u.token);
    const before = Date.now();
    const res = expectStatus(await call('POST', '/api/rpc', { token: u.token, json: { method: 'remindLater', params: { title: 'stretch', afterMs: 1000 } } }), 200);
    assert.match(res.json.result.id, /^[0-9a-f]{32}$/);
    assert.ok(res.json.result.dueAt >= before + 1000, JSON.stringify(res.json));
    const event = await todoCreated(s, 'stretch');
    assert.ok(event.ts >= res.json.result.dueAt, `ran at ${event.ts}, due at ${res.json.result.dueAt}`);
    // The application's own event follows the row's, delivered like it.
    const reminder = await s.next();
    assert.deepEqual([reminder.seq, reminder.event, reminder.data], [event.seq + 1, 'app:reminder', { todoId: event.data.row.id }]);
    const rows = expectStatus(await call('GET', '/api/tables/todos', { token: u.token }), 200).json.rows;
    assert.deepEqual(rows.map((r) => r.title), ['stretch'], 'it ran once');
    await s.close();
  });

  test('bad parameters schedule nothing and list every bad field', async () => {
    const u = await newUser({ tag: 'task-bad' });
    const res = expectStatus(await call('POST', '/api/rpc', { token: u.token, json: { method: 'remindLater', params: { title: '', afterMs: -5 } } }), 400, 'validation_failed');
    assert.deepEqual(Object.keys(res.json.error.details).sort(), ['afterMs', 'title']);
  });

  test('a task scheduled before a restart of the runtime runs after it', async () => {
    const vars = testVars();
    const persistDir = mkdtempSync(join(tmpdir(), 'userdo-tasks-'));
    let server = await startWorker({ name: 'tasks', vars, persistDir });
    try {
      const post = (path, body, token) => fetch(server.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      const signup = await post('/api/signup', { email: uniqueEmail('task-restart'), password: PASSWORD });
      assert.equal(signup.status, 201);
      const { token } = await signup.json();
      const scheduled = await post('/api/rpc', { method: 'remindLater', params: { title: 'after the restart', afterMs: 4000 } }, token);
      assert.equal(scheduled.status, 200);
      await server.stop();
      server = await startWorker({ name: 'tasks-restarted', vars, persistDir });
      // A socket from seq 0 replays what already happened and then follows: the create arrives
      // whether the task ran before the socket opened or after.
      const ticket = await (await post('/api/ws/ticket', {}, token)).json();
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/ws?ticket=${encodeURIComponent(ticket.ticket)}&since=0`);
      const socket = new Socket(ws);
      await todoCreated(socket, 'after the restart');
      ws.close();
    } finally {
      await server.stop();
      rmSync(persistDir, { recursive: true, force: true });
    }
  });
});
