// The generated-types check: it passes for the schemas of the current Rust types and fails as soon
// as a Rust type changes without `npm run gen`.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(pkg, 'scripts', 'gen-types.mjs');

test('gen-types --check fails when a Rust type changed and generated.ts was not regenerated', () => {
  const schemas = JSON.parse(
    execFileSync('cargo', ['run', '--quiet', '--locked', '-p', 'userdo-schema-gen'], { cwd: join(pkg, '..'), encoding: 'utf8' }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'userdo-gen-test-'));
  try {
    const check = (doc) => {
      const file = join(dir, 'schema.json');
      writeFileSync(file, JSON.stringify(doc));
      return spawnSync(process.execPath, [script, '--check', '--schema', file], { encoding: 'utf8' });
    };
    assert.equal(check(schemas).status, 0, 'up to date now');
    // A new field on a table row.
    const changed = structuredClone(schemas);
    changed.definitions.Todo.properties.priority = { type: 'integer' };
    const res = check(changed);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /out of date/);
    // A renamed table.
    const renamed = structuredClone(schemas);
    renamed.tables = { tasks: 'Todo', visits: 'Visit' };
    assert.equal(check(renamed).status, 1);
    // An organization table renamed, or a field added to its row type.
    const orgRenamed = structuredClone(schemas);
    assert.deepEqual(orgRenamed.orgTables, { notes: 'Note' });
    orgRenamed.orgTables = { memos: 'Note' };
    assert.equal(check(orgRenamed).status, 1);
    const noteChanged = structuredClone(schemas);
    noteChanged.definitions.Note.properties.pinned = { type: 'boolean' };
    assert.equal(check(noteChanged).status, 1);
    // An organization method renamed.
    const methodRenamed = structuredClone(schemas);
    assert.deepEqual(methodRenamed.orgMethods.map((m) => m.name), ['noteStats', 'clearNotes']);
    methodRenamed.orgMethods[0].name = 'countNotes';
    assert.equal(check(methodRenamed).status, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
