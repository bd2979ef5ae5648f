// Pure checks of an Asset's specification text: "spec text → summary, or what
// is wrong with it". No Kubernetes, no network, no file system: the reconciler
// (asset.ts) reads the text and applies the outcome.
//
// Libraries (pinned exactly in package.json, so a new release cannot change
// what is accepted, or the wording of the messages users see, without a
// reviewed bump):
// - `js-yaml` 5.5.0 parses YAML and JSON alike, fast and lean (see
//   parseYamlOrJson); `yaml`, the project's YAML library, adds line numbers to
//   messages and parses RAML.
// - `@apidevtools/swagger-parser` 13.1.0: validates Swagger 2.0 and OpenAPI
//   3.0/3.1 against the official schemas, and resolves internal $refs. Chosen
//   over @readme/openapi-parser (a fork with the same API) because the design
//   names it first and its error details (ajv errors with instance paths) are
//   enough to say where the problem is. It would fetch external $refs (files,
//   URLs): the operator must never touch the network or disk on behalf of a
//   user, so external refs are refused before the library runs, and its file
//   and http resolvers are disabled as a second guard.
// - `graphql` 17.1.0: buildSchema parses and validates SDL (the reference
//   implementation; no native code).
// - `fast-xml-parser` 5.12.1: XMLValidator for well-formed WSDL and a small
//   parse for the summary. Pure JavaScript; entity processing is off, so a
//   DOCTYPE cannot expand or fetch anything.
// RAML and AsyncAPI are checked for well-formed YAML and their basic shape
// only (their full parsers are large and pull many dependencies).
//
// swagger-parser, graphql and fast-xml-parser are imported on first use: an
// operator whose Assets carry no specification of a type never holds that
// type's parser (graphql alone is ~5 MB of RSS for the life of the process).
import { load as loadYaml, YAMLException } from 'js-yaml';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type SwaggerParser from '@apidevtools/swagger-parser';

/** A module loaded once, on the first call; a failed load is tried again on the next. */
function onFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    }));
}
const swaggerParser = onFirstUse(async () => (await import('@apidevtools/swagger-parser')).default);
const graphql = onFirstUse(() => import('graphql'));
const xml = onFirstUse(() => import('fast-xml-parser'));

export type SpecType = 'oas' | 'raml' | 'wsdl' | 'graphql' | 'asyncapi';

export interface SpecSummary {
  title?: string;
  version?: string;
  specVersion?: string;
  pathCount?: number;
  operationCount?: number;
}

export type SpecCheck =
  | { valid: true; summary: SpecSummary; message: string }
  | { valid: false; message: string };

/** Condition messages stay readable in `kubectl describe` (and Events cut at 1024). */
export const MAX_MESSAGE = 900;

/** Never throws: every failure, even an unexpected one from a library, is an invalid outcome with a message. */
export async function checkSpecification(type: SpecType, text: string): Promise<SpecCheck> {
  try {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark
    if (text.trim() === '') return invalid('the specification is empty');
    switch (type) {
      case 'oas':
        return await checkOpenApi(text);
      case 'raml':
        return checkRaml(text);
      case 'asyncapi':
        return checkAsyncApi(text);
      case 'wsdl':
        return await checkWsdl(text);
      case 'graphql':
        return await checkGraphql(text);
      default:
        return invalid(`unknown asset type "${String(type)}"`);
    }
  } catch (err) {
    return invalid(`the specification could not be checked: ${firstLine(err instanceof Error ? err.message : String(err))}`);
  }
}

function invalid(message: string): SpecCheck {
  return { valid: false, message: trimMessage(message) };
}

export function trimMessage(message: string, max = MAX_MESSAGE): string {
  const oneLine = message.trim().replace(/\s*\n\s*/g, '; ').replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? s).trim();
}

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
const quoted = (s: string | undefined) => (s ? ` "${s}"` : '');

// ---------------------------------------------------------------------------
// YAML / JSON

export interface ParsedYaml {
  value: unknown;
  /** Where a JSON pointer points in the source, as " (line N)", or '' when unknown. */
  lineOf(pointer: string): string;
}

/** Past this size, problems are reported without a line number (finding it means a second, heavier parse). */
export const LINE_LOOKUP_MAX_BYTES = 256 * 1024;
/** A document larger than this once its aliases are expanded is refused (the "billion laughs"). */
export const MAX_EXPANDED_NODES = 1_000_000;

/**
 * Parse YAML or JSON (one document). Returns an error message instead of throwing.
 *
 * js-yaml does the parse: on a 550 KB specification it took 76 ms and 40 MB
 * where `yaml`'s parseDocument took 420 ms and 170 MB, and every Asset is
 * parsed. Duplicate keys are errors, not silent overrides; aliases are capped
 * and their expanded size bounded. `yaml` (with source positions) is used only
 * to put a line number on a problem, lazily, and for RAML (`lenientTags`),
 * whose !include tags it keeps as plain values where js-yaml refuses them.
 */
export function parseYamlOrJson(text: string, opts: { lenientTags?: boolean } = {}): ParsedYaml | { error: string } {
  if (opts.lenientTags) return parseWithPositions(text);
  let value: unknown;
  try {
    value = loadYaml(text, { maxAliases: 100 });
  } catch (e) {
    if (e instanceof YAMLException) {
      const at = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
      return { error: `not valid YAML or JSON: ${e.reason}${at}` };
    }
    return { error: `not valid YAML or JSON: ${firstLine(e instanceof Error ? e.message : String(e))}` };
  }
  const size = expandedSize(value, MAX_EXPANDED_NODES);
  if (size === 'cycle') return { error: 'not valid YAML or JSON: an alias refers to a node that contains it (a recursive document)' };
  if (size === 'too-large') return { error: `not valid YAML or JSON: more than ${MAX_EXPANDED_NODES} nodes once aliases are expanded` };
  let located: ParsedYaml | { error: string } | undefined;
  return {
    value,
    lineOf(pointer: string): string {
      if (text.length > LINE_LOOKUP_MAX_BYTES) return '';
      located ??= parseWithPositions(text);
      return 'error' in located ? '' : located.lineOf(pointer);
    },
  };
}

/**
 * How many nodes the value has as a tree (aliases shared by js-yaml counted
 * each time they appear), memoized per object so a shared subtree costs one
 * visit; 'too-large' past `limit`, 'cycle' for a recursive structure.
 */
export function expandedSize(value: unknown, limit: number): number | 'too-large' | 'cycle' {
  const sizes = new Map<object, number>();
  const inProgress = new Set<object>();
  const visit = (v: unknown): number => {
    if (typeof v !== 'object' || v === null) return 1;
    const known = sizes.get(v);
    if (known !== undefined) return known;
    if (inProgress.has(v)) throw new Error('cycle');
    inProgress.add(v);
    let n = 1;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      n += visit(child);
      if (n > limit) throw new Error('too-large');
    }
    inProgress.delete(v);
    sizes.set(v, n);
    return n;
  };
  try {
    return visit(value);
  } catch (e) {
    const m = e instanceof Error ? e.message : '';
    return m === 'cycle' ? 'cycle' : 'too-large';
  }
}

/** The `yaml` package's parse, with source positions (for line numbers). */
function parseWithPositions(text: string): ParsedYaml | { error: string } {
  const lineCounter = new LineCounter();
  // uniqueKeys: a duplicated key is an error, not a silent override.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    // The library's message ends with a code excerpt after "line L, column C:"; keep the sentence.
    const msg = firstLine(err.message).replace(/:$/, '');
    return { error: `not valid YAML or JSON: ${msg}` };
  }
  // maxAliasCount bounds alias expansion (the "billion laughs"): toJS throws past it.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    return { error: `not valid YAML or JSON: ${firstLine(e instanceof Error ? e.message : String(e))}` };
  }
  return {
    value,
    lineOf(pointer: string): string {
      let node: unknown = doc.contents;
      let at: [number, number, number] | undefined = (doc.contents as Node | null)?.range ?? undefined;
      for (const seg of pointerSegments(pointer)) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
          if (!pair) break;
          at = (isScalar(pair.key) ? pair.key.range : undefined) ?? at;
          node = pair.value;
        } else if (isSeq(node)) {
          const item = node.items[Number(seg)];
          if (item === undefined) break;
          at = (item as Node).range ?? at;
          node = item;
        } else break;
      }
      return at ? ` (line ${lineCounter.linePos(at[0]).line})` : '';
    },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeJsType(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

// ---------------------------------------------------------------------------
// JSON pointers and paths

export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '#' || pointer === '/' || pointer === '#/') return [];
  return pointer.replace(/^#/, '').split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * A JSON pointer (/paths/~1flights/get) as a readable JSONPath
 * ($.paths['/flights'].get), using `doc` to tell list indexes from keys.
 */
export function pointerToPath(doc: unknown, pointer: string): string {
  let out = '$';
  let node: unknown = doc;
  for (const seg of pointerSegments(pointer)) {
    if (Array.isArray(node) && /^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += `.${seg}`;
    else out += `['${seg.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
    node = isPlainObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

function escapeSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

export interface RefSite {
  /** JSON pointer of the object holding the $ref. */
  pointer: string;
  ref: string;
}

/** Every `$ref` string in the document, with where it is. */
export function findRefs(doc: unknown): RefSite[] {
  const out: RefSite[] = [];
  const seen = new Set<unknown>();
  const walk = (node: unknown, pointer: string) => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) {
      node.forEach((v, i) => walk(v, `${pointer}/${i}`));
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push({ pointer, ref: v });
      else walk(v, `${pointer}/${escapeSegment(k)}`);
    }
  };
  walk(doc, '');
  return out;
}

/** A $ref that leaves the document (a file, a URL): anything not starting with '#'. */
export function isExternalRef(ref: string): boolean {
  return !ref.startsWith('#');
}

// ---------------------------------------------------------------------------
// OpenAPI (and Swagger 2.0)

const OAS_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

async function checkOpenApi(text: string): Promise<SpecCheck> {
  const parsed = parseYamlOrJson(text);
  if ('error' in parsed) return invalid(parsed.error);
  const doc = parsed.value;
  if (!isPlainObject(doc)) return invalid(`an OpenAPI document must be a YAML or JSON object, found ${describeJsType(doc)}`);
  if (doc.openapi === undefined && doc.swagger === undefined) {
    return invalid('not an OpenAPI document: the "openapi" field is missing (e.g. openapi: 3.0.3)');
  }
  for (const field of ['openapi', 'swagger'] as const) {
    if (doc[field] !== undefined && typeof doc[field] !== 'string') {
      return invalid(`"${field}" must be a string such as "${field === 'openapi' ? '3.0.3' : '2.0'}", not ${describeJsType(doc[field])} (quote it in YAML)${parsed.lineOf(`/${field}`)}`);
    }
  }

  const refs = findRefs(doc);
  const external = refs.filter((r) => isExternalRef(r.ref));
  if (external.length > 0) {
    const first = external[0]!;
    const more = external.length > 1 ? ` (and ${plural(external.length - 1, 'more external reference')})` : '';
    return invalid(
      `external $ref "${first.ref}" at ${pointerToPath(doc, first.pointer)}${parsed.lineOf(first.pointer)} is refused${more}: ` +
        'crossgate never fetches files or URLs; bundle the referenced definitions into this document (internal "#/..." refs are fine)',
    );
  }

  const specVersion = String(doc.openapi ?? doc.swagger);
  const label = doc.swagger !== undefined ? 'Swagger' : 'OpenAPI';
  let api: unknown;
  try {
    // validate() dereferences in place: `doc` is ours, parsed above. Never pass
    // a string: the library would read it as a file path or URL.
    const Parser = await swaggerParser();
    api = await new Parser().validate(doc as never, {
      resolve: { external: false, file: false, http: false },
      dereference: { circular: true },
    } as SwaggerParser.Options);
  } catch (err) {
    return invalid(`invalid ${label} ${specVersion} document: ${describeOpenApiError(err, doc, refs, parsed)}`);
  }
  const summary = openApiSummary(isPlainObject(api) ? api : doc);
  const message =
    `${label} ${summary.specVersion}${quoted(summary.title)}${summary.version ? ` ${summary.version}` : ''}: ` +
    `${plural(summary.pathCount ?? 0, 'path')}, ${plural(summary.operationCount ?? 0, 'operation')}`;
  return { valid: true, summary, message: trimMessage(message) };
}

export function openApiSummary(api: Record<string, unknown>): SpecSummary {
  const info = isPlainObject(api.info) ? api.info : {};
  const paths = isPlainObject(api.paths) ? api.paths : {};
  let pathCount = 0;
  let operationCount = 0;
  for (const [p, item] of Object.entries(paths)) {
    if (!p.startsWith('/')) continue; // x- extensions
    pathCount++;
    if (isPlainObject(item)) operationCount += OAS_METHODS.filter((m) => isPlainObject(item[m])).length;
  }
  const summary: SpecSummary = { specVersion: String(api.openapi ?? api.swagger), pathCount, operationCount };
  if (typeof info.title === 'string') summary.title = info.title;
  if (typeof info.version === 'string') summary.version = info.version;
  return summary;
}

function describeOpenApiError(err: unknown, doc: unknown, refs: RefSite[], parsed: ParsedYaml): string {
  const e = err as Error & { details?: unknown; name?: string };
  if (Array.isArray(e.details) && e.details.length > 0) return formatSchemaErrors(e.details as AjvError[], doc, parsed);
  const message = firstLine(e?.message ?? String(err));
  // A $ref to something that does not exist: say where that $ref is.
  const missing = /Missing \$ref pointer "([^"]+)"/.exec(message) ?? /Error resolving \$ref pointer "([^"]+)"/.exec(message);
  if (missing) {
    const target = missing[1]!.replace(/^[^#]*#/, '#');
    const site = refs.find((r) => r.ref === target || r.ref === missing[1]);
    if (site) return `$ref "${site.ref}" at ${pointerToPath(doc, site.pointer)}${parsed.lineOf(site.pointer)} points to nothing`;
  }
  return message;
}

/**
 * ajv's errors for an OpenAPI document, shortened to what a person needs: the
 * alternatives of oneOf/anyOf ("must match exactly one schema") and the
 * "must have required property '$ref'" of the Reference alternative are noise
 * when a real error sits at the same place. At most three places are shown.
 */
export function formatSchemaErrors(errors: AjvError[], doc: unknown, parsed?: ParsedYaml): string {
  const noise = new Set(['oneOf', 'anyOf', 'allOf', 'if', 'not', 'then', 'else', '$dynamicRef', '$ref']);
  const isRefAlternative = (e: AjvError) => e.keyword === 'required' && e.params?.missingProperty === '$ref';
  let relevant = errors.filter((e) => !noise.has(e.keyword));
  relevant = relevant.filter((e) => !isRefAlternative(e) || !relevant.some((o) => o.instancePath === e.instancePath && !isRefAlternative(o)));
  if (relevant.length === 0) relevant = errors;
  const byPlace = new Map<string, string[]>();
  for (const e of relevant) {
    let msg = e.message ?? e.keyword;
    if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') msg = `must NOT have property "${e.params.additionalProperty}"`;
    if (e.keyword === 'unevaluatedProperties' && typeof e.params?.unevaluatedProperty === 'string') msg = `must NOT have property "${e.params.unevaluatedProperty}"`;
    if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') msg = `must have required property "${e.params.missingProperty}"`;
    const msgs = byPlace.get(e.instancePath) ?? [];
    if (!msgs.includes(msg)) msgs.push(msg);
    byPlace.set(e.instancePath, msgs);
  }
  const places = [...byPlace.entries()];
  const shown = places.slice(0, 3).map(([pointer, msgs]) => `${pointerToPath(doc, pointer)}${parsed?.lineOf(pointer) ?? ''} ${msgs.join(' and ')}`);
  const rest = places.length - shown.length;
  return shown.join('; ') + (rest > 0 ? `; and ${plural(rest, 'more place')}` : '');
}

// ---------------------------------------------------------------------------
// RAML

const RAML_METHODS = ['get', 'patch', 'put', 'post', 'delete', 'options', 'head', 'trace', 'connect'];

function checkRaml(text: string): SpecCheck {
  const header = /^#%RAML (0\.8|1\.0)(?:[ \t]+([A-Za-z]+))?[ \t]*\r?$/m.exec(text.split('\n', 1)[0] ?? '');
  if (!header) return invalid('not RAML: the first line must be the header "#%RAML 1.0" (or "#%RAML 0.8")');
  const ramlVersion = header[1]!;
  const fragment = header[2];
  const parsed = parseYamlOrJson(text, { lenientTags: true });
  if ('error' in parsed) return invalid(parsed.error);
  const doc = parsed.value;
  if (!isPlainObject(doc)) return invalid(`a RAML document must be a YAML mapping, found ${describeJsType(doc)}`);
  const specVersion = `RAML ${ramlVersion}${fragment ? ` ${fragment}` : ''}`;
  const summary: SpecSummary = { specVersion };
  if (typeof doc.title === 'string') summary.title = doc.title;
  if (doc.version !== undefined && doc.version !== null) summary.version = String(doc.version);
  if (!fragment) {
    // A root API definition: title is required (RAML 0.8 and 1.0).
    if (typeof doc.title !== 'string' || doc.title.trim() === '') return invalid(`invalid ${specVersion} document: an API definition must have a title`);
    let pathCount = 0;
    let operationCount = 0;
    const walk = (node: Record<string, unknown>) => {
      for (const [k, v] of Object.entries(node)) {
        if (!k.startsWith('/')) continue;
        pathCount++;
        if (!isPlainObject(v)) continue;
        operationCount += RAML_METHODS.filter((m) => m in v).length;
        walk(v);
      }
    };
    walk(doc);
    summary.pathCount = pathCount;
    summary.operationCount = operationCount;
  }
  const message = fragment
    ? `${specVersion} fragment${quoted(summary.title)}`
    : `${specVersion}${quoted(summary.title)}${summary.version ? ` ${summary.version}` : ''}: ${plural(summary.pathCount!, 'resource')}, ${plural(summary.operationCount!, 'method')}`;
  return { valid: true, summary, message: trimMessage(message) };
}

// ---------------------------------------------------------------------------
// AsyncAPI

function checkAsyncApi(text: string): SpecCheck {
  const parsed = parseYamlOrJson(text);
  if ('error' in parsed) return invalid(parsed.error);
  const doc = parsed.value;
  if (!isPlainObject(doc)) return invalid(`an AsyncAPI document must be a YAML or JSON object, found ${describeJsType(doc)}`);
  if (doc.asyncapi === undefined) return invalid('not an AsyncAPI document: the "asyncapi" field is missing (e.g. asyncapi: 3.0.0)');
  if (typeof doc.asyncapi !== 'string') return invalid(`"asyncapi" must be a string such as "3.0.0", not ${describeJsType(doc.asyncapi)} (quote it in YAML)${parsed.lineOf('/asyncapi')}`);
  const major = /^(\d+)\.\d+\.\d+$/.exec(doc.asyncapi)?.[1];
  if (major !== '2' && major !== '3') return invalid(`unsupported AsyncAPI version "${doc.asyncapi}": expected 2.x.y or 3.x.y${parsed.lineOf('/asyncapi')}`);
  const bad = (msg: string) => invalid(`invalid AsyncAPI ${doc.asyncapi as string} document: ${msg}`);
  if (!isPlainObject(doc.info)) return bad(`$.info is required and must be an object${parsed.lineOf('/info')}`);
  for (const f of ['title', 'version'] as const) {
    if (typeof doc.info[f] !== 'string' || doc.info[f] === '') return bad(`$.info.${f} is required and must be a string${parsed.lineOf(`/info/${f}`)}`);
  }
  if (doc.channels !== undefined && !isPlainObject(doc.channels)) return bad(`$.channels must be an object${parsed.lineOf('/channels')}`);
  if (major === '2' && doc.channels === undefined) return bad('$.channels is required in AsyncAPI 2');
  if (doc.operations !== undefined && !isPlainObject(doc.operations)) return bad(`$.operations must be an object${parsed.lineOf('/operations')}`);
  const channels = isPlainObject(doc.channels) ? doc.channels : {};
  let operationCount: number;
  if (major === '3') operationCount = Object.keys(isPlainObject(doc.operations) ? doc.operations : {}).length;
  else operationCount = Object.values(channels).reduce<number>((n, c) => n + (isPlainObject(c) ? ['publish', 'subscribe'].filter((op) => isPlainObject(c[op])).length : 0), 0);
  // pathCount holds the number of channels: an AsyncAPI channel is the "path" of a message API.
  const summary: SpecSummary = { title: doc.info.title as string, version: doc.info.version as string, specVersion: doc.asyncapi, pathCount: Object.keys(channels).length, operationCount };
  const message = `AsyncAPI ${summary.specVersion}${quoted(summary.title)} ${summary.version}: ${plural(summary.pathCount!, 'channel')}, ${plural(operationCount, 'operation')}`;
  return { valid: true, summary, message: trimMessage(message) };
}

// ---------------------------------------------------------------------------
// WSDL

async function checkWsdl(text: string): Promise<SpecCheck> {
  const { XMLParser, XMLValidator } = await xml();
  const result = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (result !== true) {
    const e = result.err;
    return invalid(`not well-formed XML: ${e.msg} (line ${e.line}, column ${e.col})`);
  }
  // removeNSPrefix: wsdl:definitions and definitions alike. No entity processing.
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: true, processEntities: false, htmlEntities: false });
  const doc = parser.parse(text) as Record<string, unknown>;
  const rootName = Object.keys(doc).find((k) => !k.startsWith('?') && !k.startsWith('#') && !k.startsWith('!'));
  if (rootName !== 'definitions' && rootName !== 'description') {
    return invalid(`not a WSDL document: the root element is <${rootName ?? 'none'}>, expected <definitions> (WSDL 1.1) or <description> (WSDL 2.0)`);
  }
  const root = isPlainObject(doc[rootName]) ? (doc[rootName] as Record<string, unknown>) : {};
  const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const holders = asList(root[rootName === 'definitions' ? 'portType' : 'interface']);
  const operationCount = holders.reduce<number>((n, h) => n + (isPlainObject(h) ? asList(h.operation).length : 0), 0);
  const summary: SpecSummary = { specVersion: rootName === 'definitions' ? '1.1' : '2.0', operationCount };
  const name = root['@name'];
  if (typeof name === 'string' && name !== '') summary.title = name;
  const services = asList(root.service).length;
  const message = `WSDL ${summary.specVersion}${quoted(summary.title)}: ${plural(operationCount, 'operation')}, ${plural(services, 'service')}`;
  return { valid: true, summary, message: trimMessage(message) };
}

// ---------------------------------------------------------------------------
// GraphQL

async function checkGraphql(text: string): Promise<SpecCheck> {
  const { buildSchema, GraphQLError, isIntrospectionType, isSpecifiedScalarType, validateSchema } = await graphql();
  let schema;
  try {
    schema = buildSchema(text);
  } catch (err) {
    if (err instanceof GraphQLError) {
      const loc = err.locations?.[0];
      return invalid(`invalid GraphQL schema: ${err.message}${loc ? ` (line ${loc.line}, column ${loc.column})` : ''}`);
    }
    // SDL validation errors come as one Error, messages separated by blank lines.
    const msgs = (err instanceof Error ? err.message : String(err)).split(/\n\s*\n/).map((m) => m.trim()).filter(Boolean);
    return invalid(`invalid GraphQL schema: ${msgs.join('; ')}`);
  }
  // buildSchema checks the SDL; validateSchema the type system (a Query root, interfaces implemented, ...).
  const problems = validateSchema(schema);
  if (problems.length > 0) return invalid(`invalid GraphQL schema: ${problems.slice(0, 3).map((p) => p.message).join('; ')}`);
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  const operationCount = roots.reduce((n, t) => n + (t ? Object.keys(t.getFields()).length : 0), 0);
  const types = Object.values(schema.getTypeMap()).filter((t) => !isIntrospectionType(t) && !isSpecifiedScalarType(t)).length;
  const summary: SpecSummary = { operationCount };
  return { valid: true, summary, message: trimMessage(`GraphQL schema: ${plural(operationCount, 'root field')}, ${plural(types, 'type')}`) };
}
