// Where a worker's wasm bytes go: the code size of every function, from the code section, named
// from the name section, summed by crate (the first path segment of the Rust name), plus the data
// section. Needs a build that keeps names: `bash scripts/build-worker.sh` (no wasm-opt).
//
//   node bench/wasm-size.mjs [examples/default/build/index_bg.wasm] [top=25]
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'examples/default/build/index_bg.wasm';
const top = Number(process.argv[3] ?? 25);
const bytes = readFileSync(path);
let pos = 8;
const u32 = () => {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[pos++];
    result |= (b & 0x7f) << shift;
    if (!(b & 0x80)) return result >>> 0;
    shift += 7;
  }
};
let imported = 0;
const sizes = [];
const names = new Map();
const sections = {};
while (pos < bytes.length) {
  const id = bytes[pos++];
  const size = u32();
  const end = pos + size;
  sections[id] = (sections[id] ?? 0) + size;
  if (id === 2) { // imports: functions come first in the index space
    for (let n = u32(); n > 0; n--) {
      // module, field: read the length before `pos` (`pos += u32()` would add it to the old `pos`)
      for (let k = 0; k < 2; k++) { const len = u32(); pos += len; }
      const kind = bytes[pos++];
      if (kind === 0) { u32(); imported++; } else if (kind === 1) { pos++; const f = u32(); u32(); if (f & 1) u32(); } else if (kind === 2) { const f = u32(); u32(); if (f & 1) u32(); } else if (kind === 3) { pos += 2; } else { pos++; u32(); }
    }
  } else if (id === 10) { // code
    for (let n = u32(); n > 0; n--) { const s = u32(); sizes.push(s); pos += s; }
  } else if (id === 0) {
    const nameLen = u32();
    const name = bytes.subarray(pos, pos + nameLen).toString();
    pos += nameLen;
    if (name === 'name') {
      while (pos < end) {
        const sub = bytes[pos++];
        const subSize = u32();
        const subEnd = pos + subSize;
        if (sub === 1) {
          for (let n = u32(); n > 0; n--) {
            const index = u32();
            const len = u32();
            names.set(index, bytes.subarray(pos, pos + len).toString());
            pos += len;
          }
        }
        pos = subEnd;
      }
    }
  }
  pos = end;
}
const crateOf = (name) => {
  if (!name) return '(unnamed)';
  const n = name.replace(/^[<&*\s]+(dyn )?/, '');
  return (n.match(/^[A-Za-z0-9_]+/) ?? ['(other)'])[0];
};
const byCrate = new Map();
sizes.forEach((s, i) => {
  const crate = crateOf(names.get(imported + i));
  byCrate.set(crate, (byCrate.get(crate) ?? 0) + s);
});
const code = sizes.reduce((a, b) => a + b, 0);
const kib = (n) => (n / 1024).toFixed(1).padStart(8);
console.log(`${path}: ${kib(bytes.length)} KiB in all; code ${kib(code)} KiB in ${sizes.length} functions (${names.size ? 'named' : 'no name section'}); data ${kib(sections[11] ?? 0)} KiB`);
for (const [crate, s] of [...byCrate].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${kib(s)} KiB ${(100 * s / code).toFixed(1).padStart(5)}%  ${crate}`);
}
