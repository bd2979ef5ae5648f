// Summarizes a V8 .heapsnapshot (run.ts --heap-snapshot): self size by node
// type and by constructor, the biggest first. Retained sizes need a dominator
// tree; self sizes by constructor are usually enough to see what fills a heap.
//
//   node bench/controlplane/heapsnapshot.ts <file.heapsnapshot> [--top=30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true });
const file = positionals[0];
if (!file) {
  console.error('usage: node bench/controlplane/heapsnapshot.ts <file.heapsnapshot> [--top=30]');
  process.exit(2);
}
const snap = JSON.parse(readFileSync(file, 'utf8')) as {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
};
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const F = fields.length;
const iType = fields.indexOf('type');
const iName = fields.indexOf('name');
const iSize = fields.indexOf('self_size');
const byType = new Map<string, { n: number; bytes: number }>();
const byName = new Map<string, { n: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += F) {
  const type = types[snap.nodes[i + iType]!]!;
  const size = snap.nodes[i + iSize]!;
  total += size;
  const t = byType.get(type) ?? { n: 0, bytes: 0 };
  t.n++;
  t.bytes += size;
  byType.set(type, t);
  // Strings are grouped by type only (their "name" is the content).
  const name = type === 'object' || type === 'closure' || type === 'native' ? `${type}: ${snap.strings[snap.nodes[i + iName]!]}` : type;
  const b = byName.get(name) ?? { n: 0, bytes: 0 };
  b.n++;
  b.bytes += size;
  byName.set(name, b);
}
const top = Number(values.top);
const show = (title: string, m: Map<string, { n: number; bytes: number }>) => {
  console.log(`\n${title} (of ${(total / 1048576).toFixed(1)} MB)`);
  for (const [k, v] of [...m].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
    console.log(`${(v.bytes / 1048576).toFixed(1).padStart(8)} MB ${String(v.n).padStart(9)}  ${k.slice(0, 100)}`);
  }
};
show('self size by type', byType);
show('self size by constructor', byName);
