// Compile-time tests of the client's types (tsc -p test/tsconfig.json; never run). Each
// `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
import { UserDoClient, type MemberChange, type Member, type Note, type OrgView, type Row, type Todo } from '../src/index.js';

export async function typed(client: UserDoClient): Promise<void> {
  const todos = client.collection('todos');
  const created: Row<Todo> = await todos.create({ title: 'walk' });
  const done: boolean = created.done;
  const id: string = created.id;
  void [done, id];
  await todos.query({ where: [['done', 'eq', false]], orderBy: [['createdAt', 'desc']], limit: 10 });
  await todos.query({ where: { done: true } });
  // @ts-expect-error: `title` is required to create a todo
  await todos.create({ done: true });
  // @ts-expect-error: not a field of Todo
  await todos.query({ where: [['nope', 'eq', 1]] });
  // @ts-expect-error: not an operator
  await todos.query({ where: [['title', 'like', 'x']] });
  todos.onChange((change) => {
    if (change.op === 'create' || change.op === 'update') {
      const title: string = change.row.title;
      void title;
    }
  });

  await client.call('clearCompleted');
  await client.call('renameTodo', { id: 'x', title: 'y' });
  // @ts-expect-error: renameTodo needs its params
  await client.call('renameTodo');
  // @ts-expect-error: no such method
  await client.call('dropTables');

  // Typed from the Rust declaration (`methods!`): parameters and result of each method.
  const renamed: Row<Todo> = await client.rpc.renameTodo({ id: 'x', title: 'y' });
  const renamedTitle: string = renamed.title;
  const cleared: number = (await client.rpc.clearCompleted()).deleted;
  const byName: Row<Todo> = await client.call('renameTodo', { id: 'x', title: 'y' });
  void [renamedTitle, cleared, byName];
  // @ts-expect-error: renameTodo needs its params
  await client.rpc.renameTodo();
  // @ts-expect-error: title is a string
  await client.rpc.renameTodo({ id: 'x', title: 5 });
  // @ts-expect-error: no such method
  await client.rpc.dropTables();
  // @ts-expect-error: the result is a row, not a count
  const wrong: { deleted: number } = await client.rpc.renameTodo({ id: 'x', title: 'y' });
  void wrong;

  // Tables the generated types do not know are still reachable, untyped.
  const other = client.collection('notes');
  await other.create({ anything: 1 });

  // Organizations: client.orgs is typed by the generated answers, and an organization's
  // collection by the generated `OrgTables` (the Rust `Note`).
  const team: OrgView = await client.orgs.create('Team');
  const role: 'owner' | 'admin' | 'member' = team.role;
  const people: Member[] = await client.orgs.members(team.id);
  const maybeTeam: OrgView | undefined = await client.orgs.get(team.id);
  void [role, people, maybeTeam];
  await client.orgs.invite(team.id, 'b@example.com', 'admin');
  // @ts-expect-error: an invitation gives admin or member, never owner
  await client.orgs.invite(team.id, 'b@example.com', 'owner');
  // @ts-expect-error: not a role
  await client.orgs.setRole(team.id, 'u2', 'guest');
  const notes = client.org(team.id).collection('notes');
  const note: Row<Note> = await notes.create({ title: 'hello' }); // `body` has a default
  const body: string = note.body;
  void body;
  await notes.query({ where: [['title', 'startsWith', 'h']], orderBy: [['updatedAt', 'desc']] });
  // @ts-expect-error: `title` is required to create a note
  await notes.create({ body: 'no title' });
  // @ts-expect-error: `done` is a field of Todo, not of Note
  await notes.query({ where: [['done', 'eq', true]] });
  // @ts-expect-error: todos is a user table, so not typed as one of the organization's
  const notTodo: Row<Todo> = await client.org(team.id).collection('todos').create({ title: 'x' });
  void notTodo;
  notes.onChange((change) => {
    if (change.op === 'create') {
      const title: string = change.row.title;
      void title;
    }
  });
  client.org(team.id).onMembers((change: MemberChange) => {
    if (change.op === 'add' || change.op === 'update') {
      const r: 'owner' | 'admin' | 'member' = change.role;
      void r;
    }
    // @ts-expect-error: a removal carries no role
    if (change.op === 'remove') void change.role;
  });
  // The organizations' methods, typed from the Rust `OrgApp::Call` (generated `OrgMethods`).
  const stats: { notes: number; role: 'owner' | 'admin' | 'member' } = await client.org(team.id).rpc.noteStats();
  const clearedNotes: number = (await client.org(team.id).call('clearNotes')).deleted;
  void [stats, clearedNotes];
  // @ts-expect-error: a user method, not an organization's
  await client.org(team.id).rpc.renameTodo({ id: 'x', title: 'y' });
  // @ts-expect-error: noteStats takes no parameters
  await client.org(team.id).rpc.noteStats({ any: 1 });
  const stopLost: () => void = client.org(team.id).onAccessLost(() => {});
  void stopLost;

  const color = await client.get<string>('color');
  const maybe: string | undefined = color;
  void maybe;
  client.onChange<number>('count', (value) => {
    const n: number | undefined = value;
    void n;
  });
}
