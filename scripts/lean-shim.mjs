// Rewrites the entry shim of a worker-build 0.8 bundle (build/index.js, built with NO_MINIFY=1)
// without its per-call Proxies, then minifies it as worker-build would have.
//
//   node scripts/lean-shim.mjs <crate dir>
//
// worker-build's shim wraps the worker's entrypoint class and every exported class (the Durable
// Objects) in a Proxy whose `construct` trap builds a second Proxy per instance, with a `get`
// trap that wraps every method it returns in a third, new Proxy. The runtime constructs the
// entrypoint on every request and reads `fetch` from it, and reads a Durable Object's `fetch`,
// `alarm` and `webSocket*` on every call: in `node bench/profile.mjs kv-write 8` the
// traps' functions took some 0.37 of the 4.36 ms of isolate time per request.
//
// The classes written here keep what the Proxies were for: after a WebAssembly.RuntimeError
// (a panic aborts), the next call resets the wasm instance's state first, and an object made
// before the reset gets a new inner instance made with its original arguments. Unlike the Proxy,
// the reset comes before the stale instance is read, not after. Every other property of an
// instance that is not a method of its class is the inner instance's own, read and written
// through accessors.
//
// It also makes js-sys's future queue schedule its ticks with a resolved promise's `then`, the
// fallback js-sys has for runtimes without `queueMicrotask`: under wrangler dev one
// `queueMicrotask` took 40-45 µs against 0.7-2 µs for a `then` (200,000 of each in one request), and
// the queue schedules several per request. Its probe of `globalThis.queueMicrotask` answers
// `undefined`; the glue's other use of the global is then never called. A critical error in a
// tick is then a rejection, not an uncaught exception, so the shim listens for both.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const crate = resolve(root, process.argv[2] ?? 'examples/default');
const file = join(crate, 'build', 'index.js');
const source = readFileSync(file, 'utf8');

const fail = (what) => {
  console.error(`lean-shim: ${file}: ${what}; is worker-build 0.8.7 installed (scripts/setup.sh), and NO_MINIFY=1 set?`);
  process.exit(1);
};

// The shim's Proxy hooks begin here and run to the export list, which ends the file.
const start = source.indexOf('\nvar instanceProxyHooks = {');
const exportAt = source.lastIndexOf('\nexport {');
if (start < 0 || exportAt < start) fail('the shim\'s Proxy hooks were not found');
const hooks = source.slice(start, exportAt);

// js-sys's probe: `const ret = arg0.queueMicrotask; return ret;` on the global object.
const probe = /(__wbg_queueMicrotask_[0-9a-f]+: function\((\w+)\) \{\n\s*const ret = )\2\.queueMicrotask;/g;
const probes = [...source.matchAll(probe)];
if (probes.length !== 1) fail(`expected one probe of queueMicrotask in the glue, found ${probes.length}`);
const glue = source.slice(0, start).replace(probe, '$1void 0;');
const exportList = source.slice(exportAt);

// `var shim_default = new Proxy(Entrypoint, classProxyHooks);` and one line per exported class.
const wrapped = [...hooks.matchAll(/^var (\w+) = new Proxy\((\w+), classProxyHooks\);$/gm)];
if (wrapped.length === 0 || !wrapped.some(([, name]) => name === 'shim_default')) {
  fail('the shim\'s proxied classes were not found');
}
for (const name of ['checkReinitialize', 'handleMaybeCritical', 'initState', 'Entrypoint']) {
  if (!new RegExp(`(function|var) ${name}\\b`).test(source.slice(0, start))) fail(`the shim has no ${name}`);
}

const lean = `
// The lean shim (scripts/lean-shim.mjs): no Proxy per instance or per call.
addEventListener("unhandledrejection", (e) => {
  handleMaybeCritical(e.reason);
});
function leanCall(fn, self, args) {
  checkReinitialize();
  try {
    return fn.apply(self, args);
  } catch (e) {
    handleMaybeCritical(e);
    throw e;
  }
}
function leanAsyncCall(fn, self, args) {
  checkReinitialize();
  return (async () => {
    try {
      return await fn.apply(self, args);
    } catch (e) {
      handleMaybeCritical(e);
      throw e;
    }
  })();
}
function leanMethods(proto, target, receiver) {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === "constructor") continue;
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (typeof d.value === "function") {
      const fn = d.value;
      const call = fn.constructor === Function ? leanCall : leanAsyncCall;
      target[name] = function(...args) {
        return call(fn, receiver(this), args);
      };
    } else {
      Object.defineProperty(target, name, {
        configurable: true,
        get() { return receiver(this)[name]; },
        set(v) { receiver(this)[name] = v; }
      });
    }
  }
}
// The entrypoint is made per request by the runtime: its methods check for a reset and catch a
// critical error, on the instance itself.
leanMethods(Entrypoint.prototype, Entrypoint.prototype, (self) => self);
// An exported class (a Durable Object's): the instance holds the wasm-bindgen instance and its
// arguments, and makes it again after a reset.
function leanClass(Inner) {
  const made = new WeakMap();
  const inner = (self) => {
    const m = made.get(self);
    if (m.instanceId !== initState.instanceId) {
      m.instance = new Inner(...m.args);
      m.instanceId = initState.instanceId;
    }
    return m.instance;
  };
  const Outer = class {
    constructor(...args) {
      try {
        checkReinitialize();
        made.set(this, { instance: new Inner(...args), instanceId: initState.instanceId, args });
      } catch (e) {
        initState.criticalError = true;
        throw e;
      }
    }
  };
  Object.defineProperty(Outer, "name", { value: Inner.name });
  leanMethods(Inner.prototype, Outer.prototype, inner);
  return Outer;
}
${wrapped.map(([, name, inner]) => name === 'shim_default' ? `var shim_default = ${inner};` : `var ${name} = leanClass(${inner});`).join('\n')}
`;

writeFileSync(file, glue + lean + exportList);
const esbuild = process.env.ESBUILD_BIN ?? join(root, 'node_modules', '@esbuild', 'linux-x64', 'bin', 'esbuild');
execFileSync(esbuild, [file, '--minify', '--format=esm', `--outfile=${file}`, '--allow-overwrite', '--log-level=warning'], { stdio: 'inherit' });
