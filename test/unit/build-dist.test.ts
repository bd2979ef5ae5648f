// hack/build-dist.ts: the JavaScript the image runs keeps every position of
// its source, points its imports at .js, and loads with type stripping off.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { init, parse } from 'es-module-lexer';
import { buildDist, runtimeSources, toJavaScript, ROOT } from '../../hack/build-dist.ts';

const run = promisify(execFile);

test('relative .ts specifiers become .js in imports, re-exports and literal dynamic imports; packages are kept', async () => {
  const src = [
    "import { a, type B } from './a.ts';",
    "import type { C } from '../c.ts';",
    "export { d } from './d/index.ts';",
    "export * from './e.ts';",
    "import 'node:fs';",
    "import undici from 'undici';",
    "const lazy = () => import('./lazy.ts');",
    "const pkg = () => import('graphql');",
    "// import x from './comment.ts';",
    "const s = \"from './string.ts'\";",
    'export const n: number = 1;',
  ].join('\n');
  const out = await toJavaScript(src, 'x.ts');
  const lines = out.split('\n');
  assert.equal(lines[0], "import { a,        } from './a.js';");
  assert.equal(lines[1]!.trim(), '', 'a type-only import is erased');
  assert.equal(lines[2], "export { d } from './d/index.js';");
  assert.equal(lines[3], "export * from './e.js';");
  assert.equal(lines[4], "import 'node:fs';");
  assert.equal(lines[5], "import undici from 'undici';");
  assert.equal(lines[6], "const lazy = () => import('./lazy.js');");
  assert.equal(lines[7], "const pkg = () => import('graphql');");
  assert.equal(lines[8], "// import x from './comment.ts';", 'comments are not code');
  assert.equal(lines[9], "const s = \"from './string.ts'\";", 'strings are not imports');
  assert.equal(lines[10], 'export const n         = 1;');
});

test('every line and column of the output is that of the source (stack traces point into the .ts files)', async () => {
  const src = 'interface P {\n  a: string;\n}\nexport function f(p: P): string {\n  throw new Error(p.a);\n}\n';
  const out = await toJavaScript(src, 'x.ts');
  const srcLines = src.split('\n');
  const outLines = out.split('\n');
  assert.equal(outLines.length, srcLines.length);
  for (let i = 0; i < srcLines.length; i++) assert.equal(outLines[i]!.length, srcLines[i]!.length, `line ${i + 1}`);
  assert.equal(outLines[4]!.indexOf('throw'), srcLines[4]!.indexOf('throw'));
});

test('a dynamic import with a computed specifier is refused with the file and the expression', async () => {
  await assert.rejects(
    toJavaScript('const m = (n: string) => import(`./plugins/${n}.ts`);\n', 'gateway/x.ts'),
    /^Error: gateway\/x\.ts: a dynamic import with a computed specifier \(`\.\/plugins\/\$\{n\}\.ts`\) cannot be checked or rewritten$/,
  );
});

test('an escaped specifier is refused with the file and the specifier, since it cannot be rewritten in place', async () => {
  await assert.rejects(toJavaScript("import { a } from './\\u0061.ts';\n", 'api/x.ts'), /^Error: api\/x\.ts: specifier \.\/\\u0061\.ts is escaped; write it plainly$/);
});

test('a syntax error names the file', async () => {
  await assert.rejects(toJavaScript('enum E { A }\n', 'operator/bad.ts'), (err: Error) => {
    assert.match(err.message, /^operator\/bad\.ts: .*TypeScript enum is not supported in strip-only mode/s);
    return true;
  });
});

test('the built tree: one .js per runtime source, same line count, no .ts import left, and it loads with type stripping off', { timeout: 60_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'crossgate-dist-'));
  after(() => rmSync(out, { recursive: true, force: true }));
  const files = await buildDist(out);
  const sources = runtimeSources();
  assert.equal(files.length, sources.length);
  assert.ok(files.length > 80, `${files.length} modules`);
  await init;
  const leftovers: string[] = [];
  for (const rel of sources) {
    const js = readFileSync(join(out, `${rel.slice(0, -3)}.js`), 'utf8');
    assert.equal(js.split('\n').length, readFileSync(join(ROOT, rel), 'utf8').split('\n').length, rel);
    for (const imp of parse(js)[0]) if (imp.n?.startsWith('.') && imp.n.endsWith('.ts')) leftovers.push(`${rel}: ${imp.n}`);
  }
  assert.deepEqual(leftovers, []);
  assert.ok(!files.some((f) => f.endsWith('.test.js')), 'tests are not shipped');

  // Load every module but the operator's main (which starts the operator) in a
  // process that cannot strip types: any .ts still in the graph fails here.
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  copyFileSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  const modules = files.filter((f) => f !== join('operator', 'main.js'));
  const script = `for (const m of ${JSON.stringify(modules)}) await import('./' + m); console.log('loaded', ${modules.length});`;
  const { stdout } = await run(process.execPath, ['--no-experimental-strip-types', '--input-type=module', '-e', script], { cwd: out });
  assert.equal(stdout.trim(), `loaded ${modules.length}`);
});
