/**
 * SCAI Object References (specs/scai-object-reference.md): `{ name, digest, locationURI?, objectType? }`,
 * a small JSON description of an object — evidence or a statement — that people and verifiers can
 * use to find it and check its bytes. Actions output them for later steps.
 */
import { PayloadError } from '../errors.ts';

export interface ScaiObjectReference {
  name: string;
  /** DigestSet: algorithm → lower-case hex */
  digest: Record<string, string>;
  locationURI?: string;
  objectType?: string;
  /** facts about the object, e.g. the signer and Rekor log index of a Sigstore bundle it came from */
  annotations?: Record<string, string>;
}

export interface ScaiInput {
  name: string;
  /** `sha256:<hex>` or a DigestSet */
  digest: string | Record<string, string>;
  locationURI?: string;
  objectType?: string;
  annotations?: Record<string, string>;
}

const HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128, sha1: 40 };

function digestSet(digest: ScaiInput['digest'], name: string): Record<string, string> {
  let set: Record<string, string>;
  if (typeof digest === 'string') {
    const m = /^([a-z0-9_]+):([0-9a-fA-F]+)$/.exec(digest.trim());
    if (!m) throw new PayloadError('ERR_SUBJECT_INVALID', `digest ${JSON.stringify(digest)} of ${JSON.stringify(name)} is not <algorithm>:<hex>`);
    set = { [m[1]!]: m[2]! };
  } else {
    set = { ...digest };
  }
  const out: Record<string, string> = {};
  for (const [alg, value] of Object.entries(set)) {
    const hex = value.toLowerCase();
    const want = HEX_LENGTH[alg];
    if (!/^[0-9a-f]+$/.test(hex) || (want !== undefined && hex.length !== want)) {
      throw new PayloadError('ERR_SUBJECT_INVALID', `the ${alg} digest of ${JSON.stringify(name)} must be ${want ?? 'some'} lower-case hex digits`);
    }
    out[alg] = hex;
  }
  if (!Object.keys(out).length) throw new PayloadError('ERR_SUBJECT_INVALID', `${JSON.stringify(name)} needs at least one digest`);
  return out;
}

/** Builds a SCAI Object Reference; pure: same input, same JSON. */
export function scaiObjectReference(input: ScaiInput): ScaiObjectReference {
  if (!input.name?.trim()) throw new PayloadError('ERR_SUBJECT_INVALID', 'a SCAI object reference needs a name');
  const ref: ScaiObjectReference = { name: input.name, digest: digestSet(input.digest, input.name) };
  if (input.locationURI !== undefined) {
    // ResourceURI: an absolute URI a consumer can resolve; relative paths mean nothing to another machine
    if (!URL.canParse(input.locationURI)) {
      throw new PayloadError('ERR_USAGE', `locationURI ${JSON.stringify(input.locationURI)} of ${JSON.stringify(input.name)} is not an absolute URI (e.g. https://…, oci://…, file:///…)`);
    }
    ref.locationURI = input.locationURI;
  }
  if (input.objectType !== undefined) {
    if (!input.objectType.trim()) throw new PayloadError('ERR_USAGE', `objectType of ${JSON.stringify(input.name)} is empty`);
    ref.objectType = input.objectType;
  }
  if (input.annotations && Object.keys(input.annotations).length) ref.annotations = { ...input.annotations };
  return ref;
}
