// Summarises a V8 .cpuprofile (node --cpu-prof): functions by self time.
//   node bench/gateway/profile-top.ts FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i] ?? 0;
    if (!n) continue;
    total += dt;
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|gateway|api|operator)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  return ['| self % | function |', '|---:|---|', ...rows.map(([k, v]) => `| ${((v / total) * 100).toFixed(1)} | ${k.replace(/\|/g, '\\|')} |`)].join('\n');
}

if (import.meta.main) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/gateway/profile-top.ts FILE.cpuprofile [N]');
    process.exit(2);
  }
  console.log(summarizeProfile(file, Number(n ?? 25)));
}
