// Specification checks of the Asset reconciler: spec text → summary, or a
// message that says what is wrong and where. Pure: no cluster, no network.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packagesLoadedBy } from './helpers.ts';
import {
  checkSpecification, expandedSize, findRefs, formatSchemaErrors, LINE_LOOKUP_MAX_BYTES, openApiSummary, parseYamlOrJson, pointerToPath, trimMessage, type SpecCheck,
} from '../../../operator/controllers/asset-spec.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

const FLIGHTS_OAS = `openapi: 3.0.3
info:
  title: Flights EAPI
  version: 1.0.0
paths:
  /flights:
    get:
      summary: List flights
      responses:
        '200': {description: the flights}
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Flight'}
      responses:
        '201': {description: created}
  /flights/{id}:
    parameters:
    - {name: id, in: path, required: true, schema: {type: string}}
    get:
      responses:
        '200':
          description: one flight
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Flight'}
    delete:
      responses:
        '204': {description: deleted}
  /airports:
    get:
      responses:
        '200': {description: the airports}
components:
  schemas:
    Flight:
      type: object
      required: [id]
      properties:
        id: {type: string}
        next: {$ref: '#/components/schemas/Flight'}
`;

function valid(r: SpecCheck) {
  assert.equal(r.valid, true, r.valid ? '' : r.message);
  return r as Extract<SpecCheck, { valid: true }>;
}
function invalidMessage(r: SpecCheck): string {
  assert.equal(r.valid, false, `expected invalid, got ${JSON.stringify(r)}`);
  return (r as Extract<SpecCheck, { valid: false }>).message;
}

describe('OpenAPI', () => {
  test('a valid OAS 3.0 document (with internal and circular $refs): summary and message', async () => {
    const r = valid(await checkSpecification('oas', FLIGHTS_OAS));
    assert.deepEqual(r.summary, { title: 'Flights EAPI', version: '1.0.0', specVersion: '3.0.3', pathCount: 3, operationCount: 5 });
    assert.equal(r.message, 'OpenAPI 3.0.3 "Flights EAPI" 1.0.0: 3 paths, 5 operations');
  });

  test('a valid OAS 3.1 document, as JSON', async () => {
    const doc = {
      openapi: '3.1.0',
      info: { title: 'Flights EAPI', version: '2.1.0' },
      paths: { '/flights': { get: { responses: { '200': { description: 'ok' } } } }, 'x-internal': true },
      webhooks: {},
    };
    const r = valid(await checkSpecification('oas', JSON.stringify(doc, null, 2)));
    assert.deepEqual(r.summary, { title: 'Flights EAPI', version: '2.1.0', specVersion: '3.1.0', pathCount: 1, operationCount: 1 });
  });

  test('OAS 3.1 without paths but with webhooks is valid', async () => {
    const r = valid(await checkSpecification('oas', 'openapi: 3.1.0\ninfo: {title: Hooks, version: "1"}\nwebhooks: {}\n'));
    assert.equal(r.summary.pathCount, 0);
  });

  test('Swagger 2.0 is accepted and labelled as such', async () => {
    const r = valid(await checkSpecification('oas', 'swagger: "2.0"\ninfo: {title: Old, version: "1"}\npaths: {/a: {get: {responses: {200: {description: ok}}}}}\n'));
    assert.equal(r.message, 'Swagger 2.0 "Old" 1: 1 path, 1 operation');
  });

  test('missing info.title: the message names the place and the line', async () => {
    const m = invalidMessage(await checkSpecification('oas', FLIGHTS_OAS.replace('  title: Flights EAPI\n', '')));
    assert.equal(m, 'invalid OpenAPI 3.0.3 document: $.info (line 2) must have required property "title"');
  });

  test('missing info.title in OAS 3.1', async () => {
    const m = invalidMessage(await checkSpecification('oas', 'openapi: 3.1.0\ninfo:\n  version: "1"\npaths: {}\n'));
    assert.equal(m, 'invalid OpenAPI 3.1.0 document: $.info (line 2) must have required property "title"');
  });

  test('paths that are not an object', async () => {
    const m = invalidMessage(await checkSpecification('oas', 'openapi: 3.0.3\ninfo: {title: x, version: "1"}\npaths: [/flights]\n'));
    assert.equal(m, 'invalid OpenAPI 3.0.3 document: $.paths (line 3) must be object');
  });

  test('a wrong response: oneOf noise is dropped, the real problems are kept, with a readable path', async () => {
    const text = 'openapi: 3.0.3\ninfo: {title: x, version: "1"}\npaths:\n  /a:\n    get:\n      responses:\n        200: {descriptionx: ok}\n';
    const m = invalidMessage(await checkSpecification('oas', text));
    assert.equal(
      m,
      `invalid OpenAPI 3.0.3 document: $.paths['/a'].get.responses['200'] (line 7) must have required property "description" and must NOT have property "descriptionx"`,
    );
  });

  test('invalid YAML: the parser\'s sentence with line and column', async () => {
    const m = invalidMessage(await checkSpecification('oas', 'openapi: 3.0.3\ninfo: {title: x\n'));
    assert.match(m, /^not valid YAML or JSON: .+ at line 3, column 1$/);
    const m2 = invalidMessage(await checkSpecification('oas', 'a: b\n  c: d\n'));
    assert.equal(m2, 'not valid YAML or JSON: bad indentation of a mapping entry at line 2, column 4');
  });

  test('invalid JSON', async () => {
    assert.equal(invalidMessage(await checkSpecification('oas', '{"openapi": "3.0.0",, }')), "not valid YAML or JSON: expected the node content, but found ',' at line 1, column 21");
  });

  test('duplicate keys are refused, not silently merged', async () => {
    assert.equal(invalidMessage(await checkSpecification('oas', 'openapi: 3.0.3\nopenapi: 3.1.0\n')), 'not valid YAML or JSON: duplicated mapping key at line 2, column 1');
  });

  test('alias bombs are refused', async () => {
    const nine = (x: string) => `[${Array(9).fill(`*${x}`).join(',')}]`;
    const bomb = `a: &a [1,1,1,1,1,1,1,1,1]\nb: &b ${nine('a')}\nc: &c ${nine('b')}\nd: &d ${nine('c')}\ne: &e ${nine('d')}\nf: &f ${nine('e')}\ng: ${nine('f')}\n`;
    assert.equal(invalidMessage(await checkSpecification('oas', bomb)), 'not valid YAML or JSON: more than 1000000 nodes once aliases are expanded');
    const many = `a: &a 1\nb: [${Array(101).fill('*a').join(',')}]\n`;
    assert.match(invalidMessage(await checkSpecification('oas', many)), /^not valid YAML or JSON: .*alias/i);
  });

  test('external $refs are refused with where they are, and nothing is fetched', async () => {
    const text = `openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /a:
    $ref: "https://example.invalid/paths.yaml#/a"
  /b:
    get:
      responses:
        '200': {$ref: "./responses.yaml#/ok"}
`;
    const m = invalidMessage(await checkSpecification('oas', text));
    assert.equal(
      m,
      `external $ref "https://example.invalid/paths.yaml#/a" at $.paths['/a'] (line 4) is refused (and 1 more external reference): ` +
        'crossgate never fetches files or URLs; bundle the referenced definitions into this document (internal "#/..." refs are fine)',
    );
  });

  test('a $ref to nothing says where that $ref is', async () => {
    const text = 'openapi: 3.0.3\ninfo: {title: x, version: "1"}\npaths:\n  /a:\n    get:\n      responses:\n        "200": {$ref: "#/components/responses/Nope"}\n';
    assert.equal(
      invalidMessage(await checkSpecification('oas', text)),
      `invalid OpenAPI 3.0.3 document: $ref "#/components/responses/Nope" at $.paths['/a'].get.responses['200'] (line 7) points to nothing`,
    );
  });

  test('not an OpenAPI document, or the wrong shape', async () => {
    assert.equal(invalidMessage(await checkSpecification('oas', 'title: x\n')), 'not an OpenAPI document: the "openapi" field is missing (e.g. openapi: 3.0.3)');
    assert.equal(invalidMessage(await checkSpecification('oas', '- a\n- b\n')), 'an OpenAPI document must be a YAML or JSON object, found a list');
    assert.equal(invalidMessage(await checkSpecification('oas', 'just words')), 'an OpenAPI document must be a YAML or JSON object, found a string');
    assert.equal(invalidMessage(await checkSpecification('oas', '  \n')), 'the specification is empty');
  });

  test('openapi as a YAML number is explained', async () => {
    assert.equal(
      invalidMessage(await checkSpecification('oas', 'openapi: 3.1\ninfo: {title: x, version: "1"}\npaths: {}\n')),
      '"openapi" must be a string such as "3.0.3", not a number (quote it in YAML) (line 1)',
    );
  });

  test('an unsupported OpenAPI version: the library\'s message', async () => {
    assert.match(
      invalidMessage(await checkSpecification('oas', 'openapi: 4.0.0\ninfo: {title: x, version: "1"}\npaths: {}\n')),
      /^invalid OpenAPI 4\.0\.0 document: Unsupported OpenAPI version: 4\.0\.0/,
    );
  });

  test('the Flights EAPI of examples/ is valid', async () => {
    const file = new URL('../../../examples/max-airlines/20-asset-flights-eapi.yaml', import.meta.url);
    const asset = parse(readFileSync(file, 'utf8')) as { spec: { type: 'oas'; source: { inline: string } } };
    const r = valid(await checkSpecification(asset.spec.type, asset.spec.source.inline));
    assert.deepEqual(r.summary, { title: 'Flights EAPI', version: '1.0.0', specVersion: '3.0.3', pathCount: 3, operationCount: 3 });
  });

  test('a byte-order mark is ignored', async () => {
    valid(await checkSpecification('oas', `\uFEFF${FLIGHTS_OAS}`));
  });
});

describe('GraphQL', () => {
  test('a valid schema: root field count', async () => {
    const r = valid(await checkSpecification('graphql', 'type Query { flights: [Flight!]! flight(id: ID!): Flight }\ntype Mutation { book(id: ID!): Flight }\ntype Flight { id: ID! }\n'));
    assert.deepEqual(r.summary, { operationCount: 3 });
    assert.equal(r.message, 'GraphQL schema: 3 root fields, 3 types');
  });
  test('a syntax error with its position', async () => {
    assert.equal(invalidMessage(await checkSpecification('graphql', 'type Query { a: String')), 'invalid GraphQL schema: Syntax Error: Expected Name, found <EOF>. (line 1, column 23)');
  });
  test('an unknown type', async () => {
    assert.equal(invalidMessage(await checkSpecification('graphql', 'type Query { a: Strin }')), 'invalid GraphQL schema: Unknown type "Strin". Did you mean "String"?');
  });
  test('no Query root', async () => {
    assert.equal(invalidMessage(await checkSpecification('graphql', 'type Flight { id: ID }')), 'invalid GraphQL schema: Query root type must be provided.');
  });
});

describe('RAML', () => {
  const raml = '#%RAML 1.0\ntitle: Flights\nversion: v1\nbaseUri: https://api.example/{version}\n/flights:\n  get:\n  post:\n  /{id}:\n    get:\n    delete:\n/airports:\n  get:\n';
  test('a valid RAML 1.0 API: resources (nested ones too) and methods', async () => {
    const r = valid(await checkSpecification('raml', raml));
    assert.deepEqual(r.summary, { specVersion: 'RAML 1.0', title: 'Flights', version: 'v1', pathCount: 3, operationCount: 5 });
    assert.equal(r.message, 'RAML 1.0 "Flights" v1: 3 resources, 5 methods');
  });
  test('!include is left unresolved (never read), not an error', async () => {
    valid(await checkSpecification('raml', '#%RAML 1.0\ntitle: Flights\ntypes:\n  Flight: !include types/flight.raml\n/flights:\n  get:\n'));
  });
  test('the #%RAML header is required', async () => {
    assert.equal(invalidMessage(await checkSpecification('raml', 'title: Flights\n')), 'not RAML: the first line must be the header "#%RAML 1.0" (or "#%RAML 0.8")');
    assert.match(invalidMessage(await checkSpecification('raml', '#%RAML 2.0\ntitle: x\n')), /^not RAML/);
  });
  test('an API definition needs a title', async () => {
    assert.equal(invalidMessage(await checkSpecification('raml', '#%RAML 1.0\n/flights:\n  get:\n')), 'invalid RAML 1.0 document: an API definition must have a title');
  });
  test('fragments are accepted without a title', async () => {
    const r = valid(await checkSpecification('raml', '#%RAML 1.0 Library\ntypes:\n  Flight: {type: object}\n'));
    assert.deepEqual(r.summary, { specVersion: 'RAML 1.0 Library' });
  });
  test('bad YAML after the header', async () => {
    assert.match(invalidMessage(await checkSpecification('raml', '#%RAML 1.0\ntitle: x\n  y: z\n')), /^not valid YAML or JSON: .+ at line 2, column 8$/);
  });
});

describe('WSDL', () => {
  const wsdl = `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="FlightService" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:flights">
  <wsdl:portType name="FlightPort">
    <wsdl:operation name="GetFlight"/>
    <wsdl:operation name="ListFlights"/>
  </wsdl:portType>
  <wsdl:service name="Flights"/>
</wsdl:definitions>`;
  test('a well-formed WSDL 1.1: name and operations', async () => {
    const r = valid(await checkSpecification('wsdl', wsdl));
    assert.deepEqual(r.summary, { specVersion: '1.1', operationCount: 2, title: 'FlightService' });
    assert.equal(r.message, 'WSDL 1.1 "FlightService": 2 operations, 1 service');
  });
  test('WSDL 2.0', async () => {
    const r = valid(await checkSpecification('wsdl', '<description xmlns="http://www.w3.org/ns/wsdl"><interface name="i"><operation name="a"/></interface></description>'));
    assert.deepEqual(r.summary, { specVersion: '2.0', operationCount: 1 });
  });
  test('XML that is not well-formed: the position', async () => {
    assert.equal(
      invalidMessage(await checkSpecification('wsdl', '<definitions>\n<portType>\n</definitions>')),
      "not well-formed XML: Expected closing tag 'portType' (opened in line 2, col 1) instead of closing tag 'definitions'. (line 3, column 1)",
    );
  });
  test('XML that is not WSDL', async () => {
    assert.equal(
      invalidMessage(await checkSpecification('wsdl', '<?xml version="1.0"?><html/>')),
      'not a WSDL document: the root element is <html>, expected <definitions> (WSDL 1.1) or <description> (WSDL 2.0)',
    );
  });
  test('entities are not expanded', async () => {
    const r = valid(await checkSpecification('wsdl', '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]><definitions name="&x;"/>'));
    assert.equal(r.summary.title, '&x;');
  });
});

describe('AsyncAPI', () => {
  test('AsyncAPI 2: channels and publish/subscribe operations', async () => {
    const r = valid(await checkSpecification('asyncapi', 'asyncapi: 2.6.0\ninfo: {title: Flight events, version: 1.0.0}\nchannels:\n  flights/landed:\n    subscribe: {message: {payload: {type: object}}}\n  flights/delayed:\n    publish: {message: {}}\n    subscribe: {message: {}}\n'));
    assert.deepEqual(r.summary, { title: 'Flight events', version: '1.0.0', specVersion: '2.6.0', pathCount: 2, operationCount: 3 });
    assert.equal(r.message, 'AsyncAPI 2.6.0 "Flight events" 1.0.0: 2 channels, 3 operations');
  });
  test('AsyncAPI 3: operations are top level', async () => {
    const r = valid(await checkSpecification('asyncapi', 'asyncapi: 3.0.0\ninfo: {title: E, version: "1"}\nchannels: {landed: {address: flights/landed}}\noperations: {onLanded: {action: receive, channel: {$ref: "#/channels/landed"}}}\n'));
    assert.equal(r.summary.operationCount, 1);
    assert.equal(r.summary.pathCount, 1);
  });
  test('what is missing is named', async () => {
    assert.equal(invalidMessage(await checkSpecification('asyncapi', 'asyncapi: 3.0.0\ninfo:\n  title: E\n')), 'invalid AsyncAPI 3.0.0 document: $.info.version is required and must be a string (line 2)');
    assert.equal(invalidMessage(await checkSpecification('asyncapi', 'openapi: 3.0.0\n')), 'not an AsyncAPI document: the "asyncapi" field is missing (e.g. asyncapi: 3.0.0)');
    assert.equal(invalidMessage(await checkSpecification('asyncapi', 'asyncapi: 1.2.0\n')), 'unsupported AsyncAPI version "1.2.0": expected 2.x.y or 3.x.y (line 1)');
    assert.equal(invalidMessage(await checkSpecification('asyncapi', 'asyncapi: 2.6.0\ninfo: {title: E, version: "1"}\n')), 'invalid AsyncAPI 2.6.0 document: $.channels is required in AsyncAPI 2');
  });
});

describe('helpers', () => {
  test('pointerToPath uses the document to tell list indexes from keys', () => {
    const doc = { paths: { '/a': { get: { parameters: [{ name: 'x' }] } } }, responses: { '200': {} } };
    assert.equal(pointerToPath(doc, '/paths/~1a/get/parameters/0/name'), "$.paths['/a'].get.parameters[0].name");
    assert.equal(pointerToPath(doc, '/responses/200'), "$.responses['200']");
    assert.equal(pointerToPath(doc, ''), '$');
    assert.equal(pointerToPath(doc, "/it's"), "$['it\\'s']");
  });

  test('findRefs lists every $ref string with its place (not properties named $ref)', () => {
    const doc = { a: { $ref: '#/x' }, b: [{ $ref: 'other.yaml' }], properties: { $ref: { type: 'string' } } };
    assert.deepEqual(findRefs(doc), [{ pointer: '/a', ref: '#/x' }, { pointer: '/b/0', ref: 'other.yaml' }]);
  });

  test('formatSchemaErrors: at most three places', () => {
    const errs = ['/a', '/b', '/c', '/d'].map((p) => ({ instancePath: p, keyword: 'type', message: 'must be object' }));
    assert.equal(formatSchemaErrors(errs, {}), '$.a must be object; $.b must be object; $.c must be object; and 1 more place');
  });

  test('openApiSummary ignores extensions and non-methods', () => {
    assert.deepEqual(
      openApiSummary({ openapi: '3.0.0', info: { title: 't' }, paths: { '/a': { get: {}, parameters: [], summary: 's', 'x-y': {} }, 'x-ext': {} } }),
      { specVersion: '3.0.0', pathCount: 1, operationCount: 1, title: 't' },
    );
  });

  test('parseYamlOrJson locates pointers by line', () => {
    const p = parseYamlOrJson('a:\n  b:\n    - x\n    - y\n');
    assert.ok(!('error' in p));
    assert.equal(p.lineOf('/a/b/1'), ' (line 4)');
    assert.equal(p.lineOf('/a/missing'), ' (line 1)');
  });

  test('expandedSize counts shared subtrees each time, once per object', () => {
    const leaf = { a: 1, b: [1, 2] };
    assert.equal(expandedSize({ x: leaf, y: leaf }, 100), 11);
    assert.equal(expandedSize({ x: leaf, y: leaf }, 10), 'too-large');
    const loop: Record<string, unknown> = {};
    loop.self = [loop];
    assert.equal(expandedSize(loop, 100), 'cycle');
  });

  test('line numbers come from a second parse, only for documents that are not too large', async () => {
    const p = parseYamlOrJson('a: 1\nb:\n  c: 2\n');
    assert.ok(!('error' in p));
    assert.equal(p.lineOf('/b/c'), ' (line 3)');
    const big = parseYamlOrJson(`a: 1\nb: "${'x'.repeat(LINE_LOOKUP_MAX_BYTES)}"\n`);
    assert.ok(!('error' in big));
    assert.equal(big.lineOf('/b'), '');
  });

  test('messages are one line and bounded', () => {
    assert.equal(trimMessage('a\n  b\n'), 'a; b');
    assert.equal(trimMessage('x'.repeat(2000)).length, 900);
  });
});

describe('memory', () => {
  test("each type's parser is loaded when a specification of that type is first checked, not before", () => {
    const mod = JSON.stringify(join(ROOT, 'operator/controllers/asset-spec.ts'));
    const parsers = ['@apidevtools/swagger-parser', 'fast-xml-parser', 'graphql'];
    const held = (script: string) => packagesLoadedBy(script, ROOT).filter((p) => parsers.includes(p));
    assert.deepEqual(held(`await import(${mod});`), []);
    assert.deepEqual(held(`const m = await import(${mod}); const r = await m.checkSpecification('graphql', 'type Query { a: Int }'); if (!r.valid) throw new Error(r.message);`), ['graphql']);
    assert.deepEqual(held(`const m = await import(${mod}); await m.checkSpecification('wsdl', '<definitions name="x"/>'); await m.checkSpecification('oas', 'openapi: 3.0.3');`), ['@apidevtools/swagger-parser', 'fast-xml-parser']);
  });
});
