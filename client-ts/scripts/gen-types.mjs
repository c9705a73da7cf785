// Turns the JSON Schemas of the Rust types (printed by the `userdo-schema-gen` crate) into
// src/generated.ts, so the client's types are never written twice.
//
//   node scripts/gen-types.mjs            regenerate src/generated.ts
//   node scripts/gen-types.mjs --check    fail (exit 1) when src/generated.ts is out of date
//   ... --schema FILE                     read the schemas from FILE instead of running cargo
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const root = join(pkg, '..');
const target = join(pkg, 'src', 'generated.ts');

const args = process.argv.slice(2);
const check = args.includes('--check');
const schemaFile = args.includes('--schema') ? args[args.indexOf('--schema') + 1] : undefined;

function readSchemas() {
  if (schemaFile) return JSON.parse(readFileSync(schemaFile, 'utf8'));
  const out = execFileSync('cargo', ['run', '--quiet', '--locked', '-p', 'userdo-schema-gen'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out);
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k) => (IDENT.test(k) ? k : JSON.stringify(k));
const refName = (ref) => {
  const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  return m[1];
};

function doc(text, pad) {
  if (!text) return '';
  const lines = text.replace(/\*\//g, '*\\/').split('\n');
  if (lines.length === 1) return `${pad}/** ${lines[0]} */\n`;
  return `${pad}/**\n${lines.map((l) => `${pad} *${l ? ' ' + l : ''}`).join('\n')}\n${pad} */\n`;
}

const paren = (t) => (/[|&]/.test(t) && !/^[{(]/.test(t) ? `(${t})` : t);

/**
 * The TypeScript type of a schema. `requireDefaults` makes properties that have a `default`
 * required (a value as the server sends it always has them).
 */
function toTs(schema, indent, opts) {
  if (schema === true || schema === undefined) return 'unknown';
  if (schema === false) return 'never';
  if (schema.$ref) return refName(schema.$ref);
  if ('const' in schema) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.allOf) return schema.allOf.map((s) => paren(toTs(s, indent, opts))).join(' & ');
  const union = schema.oneOf ?? schema.anyOf;
  if (union) return union.map((s) => toTs(s, indent, opts)).join(' | ');
  if (Array.isArray(schema.type)) {
    return schema.type.map((t) => toTs({ ...schema, type: t }, indent, opts)).join(' | ');
  }
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `${paren(toTs(schema.items, indent, opts))}[]`;
    case 'object':
      return objectTs(schema, indent, opts);
    case undefined:
      return 'unknown';
    default:
      throw new Error(`unsupported schema type ${schema.type}`);
  }
}

function objectTs(schema, indent, opts) {
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) {
    const extra = schema.additionalProperties;
    return `Record<string, ${extra && extra !== true ? toTs(extra, indent, opts) : 'unknown'}>`;
  }
  const required = new Set(schema.required ?? []);
  const pad = '  '.repeat(indent + 1);
  const body = props
    .map(([name, prop]) => {
      const present = required.has(name) || (opts.requireDefaults && prop && 'default' in prop);
      return `${doc(prop.description, pad)}${pad}${key(name)}${present ? '' : '?'}: ${toTs(prop, indent + 1, opts)};`;
    })
    .join('\n');
  return `{\n${body}\n${'  '.repeat(indent)}}`;
}

function declaration(name, schema, opts = {}) {
  const ts = toTs(schema, 0, opts);
  const head = doc(schema.description, '');
  if (schema.type === 'object' && schema.properties) return `${head}export interface ${name} ${ts}\n`;
  return `${head}export type ${name} = ${ts};\n`;
}

/** A body type: `undefined` where the endpoint takes none (`null` in the schema). */
function bodyTs(schema) {
  return schema && schema.type === 'null' ? 'undefined' : toTs(schema, 1, {});
}

/** The route table as a constant (method and path per endpoint) and the types of each one. */
function routesTs(routes) {
  const table = routes
    .map((r) => `  ${key(r.name)}: { method: ${JSON.stringify(r.method)}, path: ${JSON.stringify(r.path)} },`)
    .join('\n');
  const types = routes
    .map((r) => {
      const params = r.params.length ? `{ ${r.params.map((p) => `${key(p)}: string`).join('; ')} }` : 'Record<string, never>';
      return `  ${key(r.name)}: { params: ${params}; body: ${bodyTs(r.request)}; response: ${toTs(r.response, 1, {})} };`;
    })
    .join('\n');
  return [
    '/** Every endpoint of the worker, from its route table (worker-factory/src/routes.rs). */',
    `export const routes = {\n${table}\n} as const;\n`,
    '/** What each endpoint takes (path parameters, body) and answers on success. */',
    `export interface Endpoints {\n${types}\n}\n`,
    '/** The name of an endpoint. */',
    'export type EndpointName = keyof Endpoints;\n',
  ].join('\n');
}

/** The application's methods: parameters and result of each, by name. */
function methodsTs(methods, name = 'Methods', what = "The worker's remote methods (`client.rpc.{name}`)") {
  const lines = methods
    .map((m) => `${doc(m.doc, '  ')}  ${key(m.name)}: { params: ${bodyTs(m.params)}; result: ${toTs(m.result, 1, {})} };`)
    .join('\n');
  return `/** ${what}: parameters and result of each. */\n${lines ? `export interface ${name} {\n${lines}\n}\n` : `export interface ${name} {}\n`}`;
}

export function generate(doc_) {
  const { definitions, routes, methods, tables, calls, constants } = doc_;
  // The organization tables (`/api/orgs/{org}/tables/{table}`); a document without them (a
  // worker with no organization tables) gives empty ones.
  const orgTables = doc_.orgTables ?? {};
  const rowTypes = new Set([...Object.values(tables), ...Object.values(orgTables)]);
  const parts = [
    '// Generated by scripts/gen-types.mjs from the JSON Schemas of the Rust types (the',
    '// `userdo-schema-gen` crate). Do not edit: run `npm run gen`. `npm test` fails when this file',
    '// is out of date.',
    '',
  ];
  for (const [name, schema] of Object.entries(definitions)) {
    if (rowTypes.has(name)) {
      parts.push(declaration(name, { ...schema, description: `${schema.description ?? name}\n\nAs the server sends it: fields with a default are always present.` }, { requireDefaults: true }));
      parts.push(declaration(`${name}Input`, { ...schema, description: `The fields of a new \`${name}\`: those with a default may be left out.` }));
    } else {
      parts.push(declaration(name, schema));
    }
  }
  parts.push(routesTs(routes));
  parts.push(methodsTs(methods));
  parts.push(methodsTs(doc_.orgMethods ?? [], 'OrgMethods', "The organizations' remote methods (`client.org(id).rpc.{name}`, `POST /api/orgs/{org}/rpc`)"));
  const tableLines = (t) => Object.entries(t).map(([name, row]) => `  ${key(name)}: ${row};`).join('\n');
  const inputLines = (t) => Object.entries(t).map(([name, row]) => `  ${key(name)}: ${row}Input;`).join('\n');
  const iface = (name, lines) => (lines ? `export interface ${name} {\n${lines}\n}\n` : `export interface ${name} {}\n`);
  parts.push(`/** The tables of the worker, by name: the row type as read. */\n${iface('Tables', tableLines(tables))}`);
  parts.push(`/** The tables of the worker, by name: the fields a create takes. */\n${iface('TableInputs', inputLines(tables))}`);
  parts.push(`/** The organization tables of the worker (\`client.org(id).collection(name)\`), by name: the row type as read. */\n${iface('OrgTables', tableLines(orgTables))}`);
  parts.push(`/** The organization tables of the worker, by name: the fields a create takes. */\n${iface('OrgTableInputs', inputLines(orgTables))}`);
  parts.push(`/** The worker's remote methods, \`{method, params}\`. */\nexport type Calls = ${calls};\n`);
  parts.push(`/** The rows a query returns when it names no \`limit\`. */\nexport const DEFAULT_LIMIT = ${JSON.stringify(constants.defaultLimit)};\n`);
  parts.push(`/** The most rows one query may return. */\nexport const MAX_LIMIT = ${JSON.stringify(constants.maxLimit)};\n`);
  parts.push(
    '/** Everything the client is typed by, for the worker these schemas came from. */\n' +
      'export interface GeneratedApp {\n  tables: Tables;\n  inputs: TableInputs;\n  calls: Calls;\n  methods: Methods;\n  orgTables: OrgTables;\n  orgInputs: OrgTableInputs;\n  orgMethods: OrgMethods;\n}\n',
  );
  return parts.join('\n');
}

function main() {
  const text = generate(readSchemas());
  if (!check) {
    writeFileSync(target, text);
    console.log(`gen-types: wrote ${target}`);
    return;
  }
  // Regenerate to a temporary file and compare.
  const dir = mkdtempSync(join(tmpdir(), 'userdo-gen-'));
  const fresh = join(dir, 'generated.ts');
  try {
    writeFileSync(fresh, text);
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {}
    if (current !== readFileSync(fresh, 'utf8')) {
      console.error('gen-types: src/generated.ts is out of date with the Rust types; run `npm run gen` in client-ts.');
      process.exit(1);
    }
    console.log('gen-types: src/generated.ts is up to date');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
