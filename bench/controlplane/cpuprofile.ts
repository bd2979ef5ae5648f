// Summarizes a V8 .cpuprofile (node --cpu-prof): the functions with the most
// self time, and the most inclusive time, with file:line.
//
//   node bench/controlplane/cpuprofile.ts <file.cpuprofile> [--top=30] [--filter=operator/]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' }, filter: { type: 'string', default: '' } }, allowPositionals: true });
const file = positionals[0];
if (!file) {
  console.error('usage: node bench/controlplane/cpuprofile.ts <file.cpuprofile> [--top=30] [--filter=substring]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
// Time per sample from timeDeltas (µs); fall back to hitCount × mean interval.
const selfUs = new Map<number, number>();
if (prof.samples && prof.timeDeltas) {
  for (let i = 0; i < prof.samples.length; i++) selfUs.set(prof.samples[i]!, (selfUs.get(prof.samples[i]!) ?? 0) + (prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0));
} else {
  const total = prof.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  for (const n of prof.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) * (prof.endTime - prof.startTime)) / total);
}
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(?=(operator|model|api|webhook|gateway|node_modules)\/)/, '');
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
};
const self = new Map<string, number>();
const incl = new Map<string, number>();
let total = 0;
for (const n of prof.nodes) {
  const us = selfUs.get(n.id) ?? 0;
  if (!us) continue;
  total += us;
  self.set(label(n), (self.get(label(n)) ?? 0) + us);
  // Inclusive: count once per distinct label on the stack.
  const seen = new Set<string>();
  for (let cur: number | undefined = n.id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + us);
  }
}
const top = Number(values.top);
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (of ${(total / 1e6).toFixed(1)} s sampled)`);
  [...m]
    .filter(([k]) => !values.filter || k.includes(values.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, us]) => console.log(`${(us / 1e6).toFixed(2).padStart(8)} s ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`));
};
show('self time', self);
show('inclusive time', incl);

// Longest stretches without an idle sample: event-loop stalls (what starves timers such as the lease renewal).
if (prof.samples && prof.timeDeltas) {
  const idle = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const stretches: Array<{ startUs: number; us: number; counts: Map<string, number> }> = [];
  let t = 0;
  let cur: (typeof stretches)[number] | undefined;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    const id = prof.samples[i]!;
    if (idle.has(id)) {
      if (cur) stretches.push(cur);
      cur = undefined;
      continue;
    }
    cur ??= { startUs: t, us: 0, counts: new Map() };
    const dt = prof.timeDeltas[i + 1] ?? 0;
    cur.us += dt;
    // Attribute the sample to the outermost operator/model/api frame on its stack below the worker loop.
    let label = '';
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const node = byId.get(n)!;
      if (/\/(operator|model|api)\//.test(node.callFrame.url) && !/operator\/lib\/(controller|workqueue)\.ts/.test(node.callFrame.url)) label = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*?\/(?=(operator|model|api)\/)/, '')}:${node.callFrame.lineNumber + 1}`;
    }
    cur.counts.set(label || '(other)', (cur.counts.get(label || '(other)') ?? 0) + dt);
  }
  if (cur) stretches.push(cur);
  console.log('\nlongest busy stretches (no idle sample in between)');
  for (const st of stretches.sort((a, b) => b.us - a.us).slice(0, Math.min(10, top))) {
    const main = [...st.counts].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([k, us]) => `${k} ${((100 * us) / st.us).toFixed(0)}%`).join(', ');
    console.log(`${(st.us / 1000).toFixed(0).padStart(7)} ms at +${(st.startUs / 1e6).toFixed(1)} s: ${main}`);
  }
}
