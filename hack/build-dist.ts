// Builds the JavaScript the image runs: every runtime source (api/, model/,
// operator/, webhook/, gateway/, tests left out) with its types stripped by
// Node's own stripper, the one that runs the same files in development and CI,
// and its relative `.ts` imports pointed at `.js`.
//
// Why ship JavaScript: type stripping loads a TypeScript parser (amaro) into
// every process the first time it meets a .ts file, ~17 MB of RSS per process
// for the whole of its life (docs/performance.md, "Memory").
//
// Why this and not `tsc`: the stripper replaces types with blanks, so every
// line and column of the output is the line and column of the source, and a
// stack trace from a pod points into the repository's .ts files as they are.
// The only other change is `.ts` → `.js` in relative specifiers, which keeps
// the length. es-module-lexer (the lexer Vite and esbuild's ecosystem use)
// finds the specifiers, so comments and strings that look like imports are
// left alone.
//
//   node hack/build-dist.ts [--out DIR]      (default: dist/)
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { init, parse } from 'es-module-lexer';

export const ROOT = resolve(import.meta.dirname, '..');
/** The directories the three processes load code from. */
export const RUNTIME_DIRS = ['api', 'model', 'kube', 'operator', 'webhook', 'gateway'];

/** Runtime sources under RUNTIME_DIRS, relative to ROOT (tests are not shipped). */
export function runtimeSources(root = ROOT): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  for (const d of RUNTIME_DIRS) walk(d);
  return out.sort();
}

/** A relative specifier naming a .ts file gets `.js`; anything else (packages, node:) is kept. */
function jsSpecifier(spec: string): string | undefined {
  return (spec.startsWith('./') || spec.startsWith('../')) && spec.endsWith('.ts') ? `${spec.slice(0, -3)}.js` : undefined;
}

/**
 * One module: types stripped (positions kept), relative .ts specifiers → .js.
 * Throws on a dynamic import whose target is computed, since it could name a
 * .ts file that is not rewritten.
 */
export async function toJavaScript(source: string, file: string): Promise<string> {
  await init;
  let code: string;
  try {
    code = stripTypeScriptTypes(source, { mode: 'strip' });
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const [imports] = parse(code, file);
  let out = '';
  let at = 0;
  for (const imp of imports) {
    // import.meta (d === -2) names no module.
    if (imp.d === -2) continue;
    if (imp.n === undefined) {
      throw new Error(`${file}: a dynamic import with a computed specifier (${code.slice(imp.s, imp.e)}) cannot be checked or rewritten`);
    }
    const js = jsSpecifier(imp.n);
    if (!js) continue;
    // Static imports: s..e is the specifier without quotes; dynamic: the literal with its quotes.
    const raw = code.slice(imp.s, imp.e);
    const quoted = /^['"`]/.test(raw);
    const inner = quoted ? raw.slice(1, -1) : raw;
    if (inner !== imp.n) throw new Error(`${file}: specifier ${raw} is escaped; write it plainly`);
    out += code.slice(at, imp.s) + (quoted ? `${raw[0]}${js}${raw.at(-1)}` : js);
    at = imp.e;
  }
  return out + code.slice(at);
}

/**
 * Writes OUT/<dir>/<file>.js for every runtime source, replacing what OUT/<dir>
 * held (only those directories: OUT may hold node_modules, as the image does);
 * returns the files written, relative to OUT.
 */
export async function buildDist(out: string, root = ROOT): Promise<string[]> {
  for (const d of RUNTIME_DIRS) rmSync(join(out, d), { recursive: true, force: true });
  const written: string[] = [];
  for (const rel of runtimeSources(root)) {
    const js = await toJavaScript(readFileSync(join(root, rel), 'utf8'), rel);
    const target = join(out, `${rel.slice(0, -3)}.js`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
    written.push(relative(out, target));
  }
  return written;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'dist') } } });
  const out = resolve(values.out!);
  const files = await buildDist(out);
  console.log(`build-dist: ${files.length} modules → ${relative(process.cwd(), out) || '.'}`);
}
