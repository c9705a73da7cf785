// Compile-time tests of the client's types (tsc -p test/tsconfig.json; never run). Each
// `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
import { UserDoClient, type Row, type Todo } from '../src/index.js';

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

  const color = await client.get<string>('color');
  const maybe: string | undefined = color;
  void maybe;
  client.onChange<number>('count', (value) => {
    const n: number | undefined = value;
    void n;
  });
}
