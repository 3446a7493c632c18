/**
 * Where a statement's evidence lives (specs/statement-persistence.md): SBOMs, scan results and
 * provenance are "scitt-reference" entries — the statement carries a Hash Envelope and its
 * payload_location points at the evidence stored beside the artifact; in-toto attestations are
 * registered as they are, so the statement embeds them.
 */
import { posix } from 'node:path';
import { PayloadError } from '../errors.ts';
import type { EvidenceKind } from './detect.ts';

export type PayloadPlacement = 'hash-envelope' | 'embedded';

export interface PlacementDecision {
  placement: PayloadPlacement;
  /** for a Hash Envelope: where the evidence is stored (RFC 9995 payload_location) */
  payloadLocation?: string;
  /** true when the caller chose, false when the default for the kind applied */
  overridden: boolean;
}

export interface PlacementOptions {
  kind: EvidenceKind;
  /** explicit placement; wins over the default */
  override?: PayloadPlacement;
  /** explicit payload_location; wins over `artifactLocation` */
  location?: string;
  /** where the artifact is published (URL or path), to store the evidence beside it */
  artifactLocation?: string;
  /** the evidence file's name as stored, e.g. `app-1.0.tgz.cdx.json` */
  evidenceName?: string;
}

const DEFAULTS: Record<EvidenceKind, PayloadPlacement> = {
  sbom: 'hash-envelope',
  scan: 'hash-envelope',
  provenance: 'hash-envelope',
  'in-toto': 'embedded',
};

/** The placement the persistence table gives an evidence kind. */
export function defaultPlacement(kind: EvidenceKind): PayloadPlacement {
  return DEFAULTS[kind];
}

/** The location of `evidenceName` in the same directory (or URL path) as the artifact. */
export function locationBeside(artifactLocation: string, evidenceName: string): string {
  if (!evidenceName || evidenceName.includes('/') || evidenceName.includes('\\')) {
    throw new PayloadError('ERR_USAGE', `evidence name ${JSON.stringify(evidenceName)} must be a plain file name to be stored beside the artifact`);
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(artifactLocation)) {
    const url = new URL(artifactLocation);
    url.search = '';
    url.hash = '';
    return new URL(encodeURIComponent(evidenceName), url).href;
  }
  const normalised = artifactLocation.split('\\').join('/');
  const dir = posix.dirname(normalised);
  return dir === '.' && !normalised.startsWith('./') ? evidenceName : posix.join(dir, evidenceName);
}

/** Decides embedded vs Hash Envelope and, for a Hash Envelope, the payload_location. */
export function choosePlacement(options: PlacementOptions): PlacementDecision {
  const placement = options.override ?? defaultPlacement(options.kind);
  if (placement !== 'hash-envelope' && placement !== 'embedded') {
    throw new PayloadError('ERR_USAGE', `unknown payload placement ${JSON.stringify(placement)}; use hash-envelope or embedded`);
  }
  const decision: PlacementDecision = { placement, overridden: options.override !== undefined };
  if (placement === 'hash-envelope') {
    const location =
      options.location ?? (options.artifactLocation && options.evidenceName ? locationBeside(options.artifactLocation, options.evidenceName) : undefined);
    if (location) decision.payloadLocation = location;
  }
  return decision;
}
