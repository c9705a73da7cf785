// The indexed query of `make bench`, taken apart in SQLite itself (Node's node:sqlite, outside
// workerd): the two statements the table endpoint runs for one list request, timed separately on
// a table laid out as userdo lays it out (userdo/src/table: id, data JSON, created_at, updated_at;
// the expression index on (json_extract(data, '$.done'), created_at)), with their query plans.
//
//   node bench/query-sql.mjs [rows=100000]
import { DatabaseSync } from 'node:sqlite';
import { randomBytes } from 'node:crypto';

const rows = Number(process.argv[2] ?? 100_000);
const db = new DatabaseSync(':memory:');
db.exec(`CREATE TABLE "_userdo_table_todos" (
  id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
db.exec(`CREATE INDEX "todos_done_createdAt" ON "_userdo_table_todos" (json_extract(data, '$.done'), created_at)`);
const insert = db.prepare('INSERT INTO "_userdo_table_todos" (id, data, created_at, updated_at) VALUES (?, ?, ?, ?)');
db.exec('BEGIN');
for (let i = 0; i < rows; i++) {
  insert.run(randomBytes(16).toString('hex'), JSON.stringify({ title: `todo ${i}`, done: i % 2 === 0 }), 1_700_000_000_000 + i, 1_700_000_000_000 + i);
}
db.exec('COMMIT');

// As userdo/src/table/query.rs builds them for ?where=done:eq:false&orderBy=createdAt:desc&limit=20.
const where = `WHERE json_extract(data, '$.done') = ?`;
const statements = {
  select: `SELECT id, data, created_at, updated_at FROM "_userdo_table_todos" ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
  count: `SELECT COUNT(*) FROM "_userdo_table_todos" ${where}`,
};
const params = { select: [0, 20, 0], count: [0] };
for (const [name, sql] of Object.entries(statements)) {
  const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params[name]).map((r) => r.detail).join('; ');
  const stmt = db.prepare(sql);
  const times = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    stmt.all(...params[name]);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${name} on ${rows} rows: p50 ${times[15].toFixed(3)} ms  (plan: ${plan})`);
}
