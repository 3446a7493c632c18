/** What the evidence is about, which decides its default placement (placement.ts). Its own module: reading a `require` list must not load every format's validator (detect.ts). */
export type EvidenceKind = 'sbom' | 'in-toto' | 'provenance' | 'scan';
export const EVIDENCE_KINDS: readonly EvidenceKind[] = ['sbom', 'in-toto', 'provenance', 'scan'];
