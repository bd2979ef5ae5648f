// No container engine runs here, so what can be checked about the image is
// checked statically: the three entrypoints import only files the Dockerfile's
// build stage copies (and .dockerignore lets through) and only production
// dependencies (`npm ci --omit=dev`), the runtime stage runs the build's
// JavaScript with type stripping off, and the base image's Node is the one
// development uses.
// hadolint runs in test/e2e/chart.test.ts (it installs it on first use).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../../hack/sync-chart.ts';

// gateway/main.ts also runs crossgate-authz (--mode=authz).
const ENTRYPOINTS = ['operator/main.ts', 'webhook/main.ts', 'gateway/main.ts'];
/** Run from the image by hand (no chart template): `crossgate render nginx`. */
const CLIS = ['gateway/render-nginx.ts'];
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The text of one stage, from its FROM line to the next. */
function stage(name: string | 'runtime'): string {
  const starts = [...dockerfile.matchAll(/^FROM .*$/gm)].map((m) => m.index);
  const at = name === 'runtime' ? starts.at(-1)! : dockerfile.search(new RegExp(`^FROM .* AS ${name}$`, 'm'));
  assert.ok(at >= 0, `Dockerfile has a stage ${name}`);
  const next = starts.find((s) => s > at);
  return dockerfile.slice(at, next);
}

/** Sources the build stage copies from the build context (the runtime stage takes its output). */
function copiedPaths(): string[] {
  return [...stage('build').matchAll(/^COPY\s+(?!--from)(?:--\S+\s+)*(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
}

/** Module specifiers a file loads at run time (`import type` and `export type` are erased by type stripping). */
function runtimeImports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  for (const m of code.matchAll(/(?:^|[;\n])\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g)) {
    if (!m[2]) specs.push(m[4]!);
  }
  for (const m of code.matchAll(/(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs;
}

function closure(): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>(); // package → first importer
  const queue = [...ENTRYPOINTS, ...CLIS].map((e) => join(ROOT, e));
  while (queue.length) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        assert.ok(existsSync(target) && statSync(target).isFile(), `${relative(ROOT, file)} imports ${spec}, which does not exist`);
        queue.push(target);
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!packages.has(name)) packages.set(name, relative(ROOT, file));
      }
    }
  }
  return { files, packages };
}

test("the image's Node is the version development and CI run (package.json devDependencies.node)", () => {
  const arg = /^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
  assert.equal(arg, pkg.devDependencies['node']);
  assert.match(dockerfile, /^FROM node:\$\{NODE_VERSION\}-slim AS deps$/m);
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /^USER 1000:1000$/m, 'a numeric non-root user');
});

test("the runtime stage runs the build stage's JavaScript with type stripping off, as the chart's args name it", () => {
  const runtime = stage('runtime');
  assert.match(runtime, /^COPY --from=build \/src\/dist \.\/$/m);
  assert.match(stage('build'), /^RUN node hack\/build-dist\.ts --out \/src\/dist$/m);
  assert.doesNotMatch(runtime, /^COPY (?!--from)(?!package\.json)/m, 'no sources from the context in the runtime stage');
  assert.match(runtime, /^ENTRYPOINT \["node", "--no-experimental-strip-types"\]$/m);
  assert.match(runtime, /^CMD \["operator\/main\.js"\]$/m);
  for (const e of ENTRYPOINTS) {
    const args = readFileSync(join(ROOT, 'charts/crossgate/templates', `${e.split('/')[0]}.yaml`), 'utf8');
    assert.match(args, new RegExp(`args: \\["${e.replace('.ts', '.js')}"\\]`), e);
  }
});

test('the entrypoints load only files the Dockerfile copies and .dockerignore lets through', () => {
  const { files } = closure();
  const copied = copiedPaths().map((p) => p.replace(/\/$/, ''));
  assert.ok(copied.includes('hack/build-dist.ts'), 'the build script is copied');
  const ignoreAllows = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  const outside: string[] = [];
  for (const f of files) {
    const rel = relative(ROOT, f);
    const top = rel.split('/')[0]!;
    if (!copied.includes(top) || !ignoreAllows.includes(top)) outside.push(rel);
    if (/\.test\.ts$/.test(rel)) outside.push(`${rel} (a test file; .dockerignore drops those)`);
  }
  assert.deepEqual(outside, []);
  assert.ok(files.size > 50, `followed ${files.size} files`);
  for (const p of ['package.json', 'package-lock.json', 'hack/build-dist.ts']) assert.ok(ignoreAllows.includes(p), p);
});

test('the entrypoints import only production dependencies (npm ci --omit=dev)', () => {
  const { packages } = closure();
  const dev = [...packages].filter(([name]) => !(name in pkg.dependencies)).map(([name, from]) => `${name} (imported by ${from})`);
  assert.deepEqual(dev, []);
  assert.ok(packages.has('@kubernetes/client-node') || packages.has('undici'), [...packages.keys()].join(', '));
});
