/**
 * JSON Schema validation of evidence against the schemas vendored in packages/core/schemas
 * (origins in its README). Each schema is loaded and compiled once, on first use, and the first
 * error is reported in plain words with its JSON path. Nothing is fetched at run time.
 */
// ajv is loaded on first validation: verifying never needs it, and it is a large part of start-up
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { PayloadError } from '../errors.ts';
import { ajvFormats, ajv as ajvLibrary } from '../lazy-deps.cjs';

type Json = Record<string, unknown>;
type Loader = () => Promise<{ default: unknown }>;
interface Ref {
  /** the URL the referencing schemas resolve it to */
  id: string;
  load: Loader;
}

/** The schemas this module validates against, by the name messages use. */
export type SchemaName =
  | 'CycloneDX 1.4'
  | 'CycloneDX 1.5'
  | 'CycloneDX 1.6'
  | 'CycloneDX 1.7'
  | 'SPDX 2.2'
  | 'SPDX 2.3'
  | 'SPDX 3.0'
  | 'SARIF 2.1.0'
  | 'in-toto Statement v1'
  | 'DSSE envelope'
  | 'SLSA Provenance v1';

// Literal import paths keep the schemas visible to bundlers; `with { type: 'json' }` is what Node requires.
// CycloneDX schemas reference their neighbours by file name (`spdx.SNAPSHOT.schema.json`), so each is registered under that name.
const CDX_BASE = 'http://cyclonedx.org/schema/';
const cdxSpdx: Ref = { id: `${CDX_BASE}spdx.SNAPSHOT.schema.json`, load: () => import('../../schemas/cyclonedx/spdx.SNAPSHOT.schema.json', { with: { type: 'json' } }) };
const cdxJsf: Ref = { id: `${CDX_BASE}jsf-0.82.SNAPSHOT.schema.json`, load: () => import('../../schemas/cyclonedx/jsf-0.82.SNAPSHOT.schema.json', { with: { type: 'json' } }) };
const cdxCrypto: Ref = {
  id: `${CDX_BASE}cryptography-defs.SNAPSHOT.schema.json`,
  load: () => import('../../schemas/cyclonedx/cryptography-defs.SNAPSHOT.schema.json', { with: { type: 'json' } }),
};
const SOURCES: Record<SchemaName, { main: Loader; refs?: Ref[] }> = {
  'CycloneDX 1.4': { main: () => import('../../schemas/cyclonedx/bom-1.4.SNAPSHOT.schema.json', { with: { type: 'json' } }), refs: [cdxSpdx, cdxJsf] },
  'CycloneDX 1.5': { main: () => import('../../schemas/cyclonedx/bom-1.5.SNAPSHOT.schema.json', { with: { type: 'json' } }), refs: [cdxSpdx, cdxJsf] },
  'CycloneDX 1.6': { main: () => import('../../schemas/cyclonedx/bom-1.6.SNAPSHOT.schema.json', { with: { type: 'json' } }), refs: [cdxSpdx, cdxJsf] },
  'CycloneDX 1.7': {
    main: () => import('../../schemas/cyclonedx/bom-1.7.SNAPSHOT.schema.json', { with: { type: 'json' } }),
    refs: [cdxSpdx, cdxJsf, cdxCrypto],
  },
  'SPDX 2.2': { main: () => import('../../schemas/spdx/spdx-2.2.schema.json', { with: { type: 'json' } }) },
  'SPDX 2.3': { main: () => import('../../schemas/spdx/spdx-2.3.schema.json', { with: { type: 'json' } }) },
  'SPDX 3.0': { main: () => import('../../schemas/spdx/spdx-3.0.schema.json', { with: { type: 'json' } }) },
  'SARIF 2.1.0': { main: () => import('../../schemas/sarif/sarif-2.1.0-rtm.5.json', { with: { type: 'json' } }) },
  'in-toto Statement v1': { main: () => import('../../schemas/in-toto/statement-v1.schema.json', { with: { type: 'json' } }) },
  'DSSE envelope': { main: () => import('../../schemas/in-toto/dsse-envelope.schema.json', { with: { type: 'json' } }) },
  'SLSA Provenance v1': { main: () => import('../../schemas/slsa/provenance-v1.schema.json', { with: { type: 'json' } }) },
};

let ajv: Ajv | undefined;
const compiled = new Map<SchemaName, Promise<ValidateFunction>>();
const addedRefs = new Set<string>();

async function instance(): Promise<Ajv> {
  if (ajv) return ajv;
  const { Ajv } = ajvLibrary();
  const addFormats = ajvFormats();
  // strict off: the vendored schemas use keywords and formats Ajv's strict mode rejects (e.g. draft-04's `id`)
  // unicodeRegExp off: SARIF's patterns are not valid under the `u` flag (e.g. `]?` after a group)
  // code.optimize off: the optimiser's passes cost a third of compiling CycloneDX's schema (a gate pays it on every run) and the validators are as strict without them
  const created = new Ajv({ strict: false, allErrors: false, validateFormats: true, unicodeRegExp: false, code: { optimize: false } });
  addFormats.default(created);
  // formats ajv-formats does not define; CycloneDX uses them for e-mail and IRIs, which are free text in practice
  for (const name of ['idn-email', 'idn-hostname', 'iri', 'iri-reference']) if (!created.formats[name]) created.addFormat(name, true);
  ajv ??= created;
  return ajv;
}

/** The SARIF schema declares draft-04, which Ajv 8 does not load; it uses no keyword whose meaning changed by draft-07, so its draft-04 markers are dropped. */
function asDraft07(schema: Json): Json {
  if (typeof schema.$schema !== 'string' || !schema.$schema.includes('draft-04')) return schema;
  const { $schema: _schema, id, ...rest } = schema;
  return { $id: typeof id === 'string' ? id : undefined, ...rest };
}

async function compile(name: SchemaName): Promise<ValidateFunction> {
  const a = await instance();
  const source = SOURCES[name];
  for (const ref of source.refs ?? []) {
    // several CycloneDX versions share the same referenced schemas: add each once
    if (addedRefs.has(ref.id)) continue;
    addedRefs.add(ref.id);
    a.addSchema({ ...((await load(ref.load)) as Json), $id: ref.id });
  }
  const main = asDraft07((await load(source.main)) as Json);
  const existing = typeof main.$id === 'string' ? a.getSchema(main.$id) : undefined;
  return existing ?? a.compile(main);
}

async function load(loader: Loader): Promise<unknown> {
  return (await loader()).default;
}

/** Returns the compiled validator for `name`, compiling it on first use. */
export function validator(name: SchemaName): Promise<ValidateFunction> {
  let v = compiled.get(name);
  if (!v) {
    v = compile(name);
    compiled.set(name, v);
  }
  return v;
}

/** JSON pointer (`/components/3/name`) → JSONPath-like text (`$.components[3].name`) people recognise. */
function jsonPath(pointer: string): string {
  if (!pointer) return '$';
  return (
    '$' +
    pointer
      .split('/')
      .slice(1)
      .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((key) => (/^\d+$/.test(key) ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`))
      .join('')
  );
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `is missing the required property "${String(p.missingProperty)}"`;
    case 'additionalProperties':
      return `has the property "${String(p.additionalProperty)}", which the schema does not allow here`;
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((v) => JSON.stringify(v));
      return `must be one of ${allowed.length > 12 ? `${allowed.slice(0, 12).join(', ')}, … (${allowed.length} values)` : allowed.join(', ')}`;
    }
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'type':
      return `must be of type ${String(p.type)}`;
    case 'pattern':
      return `does not match the pattern ${String(p.pattern)}`;
    case 'format':
      return `is not a valid ${String(p.format)}`;
    default:
      return e.message ?? `fails the "${e.keyword}" rule`;
  }
}

/** The most specific error: the deepest instance path (anyOf/oneOf report their branches first, then themselves). */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  return errors.reduce((best, e) => (e.instancePath.split('/').length > best.instancePath.split('/').length ? e : best));
}

/** The first schema error of `errors`, in words, e.g. `$.components[3].hashes[0].alg must be one of "MD5", ...`. */
function describeSchemaError(errors: ErrorObject[]): string {
  const e = mostSpecific(errors);
  return `${jsonPath(e.instancePath)} ${describe(e)}`;
}

/** Validates `document` against `name`; throws ERR_PAYLOAD_SCHEMA naming the first problem and its JSON path. */
export async function validateSchema(name: SchemaName, document: unknown, what: string): Promise<void> {
  const validate = await validator(name);
  if (validate(document)) return;
  const errors = validate.errors ?? [];
  const detail = errors.length ? describeSchemaError(errors) : 'is invalid';
  throw new PayloadError('ERR_PAYLOAD_SCHEMA', `${what} is not a valid ${name} document: ${detail}; fix the generator's output or choose the format version it really follows`);
}
