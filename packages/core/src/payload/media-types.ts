/**
 * Names from the specifications that payloads are built from: IANA media types of each evidence
 * format, the in-toto Statement and DSSE types, and the SLSA Provenance predicate and build type.
 */

export const MediaType = {
  /** CycloneDX JSON (IANA registration by OWASP) */
  CycloneDxJson: 'application/vnd.cyclonedx+json',
  /** CycloneDX XML (IANA registration by OWASP) */
  CycloneDxXml: 'application/vnd.cyclonedx+xml',
  /** SPDX 2 JSON (IANA) */
  SpdxJson: 'application/spdx+json',
  /** SPDX 2 tag-value (IANA) */
  SpdxTagValue: 'text/spdx',
  /** SPDX 3 JSON, a strict subset of JSON-LD; IANA registered it apart from SPDX 2's application/spdx+json */
  Spdx3Json: 'application/spdx3+json',
  /** in-toto Statement, also the DSSE payloadType of an in-toto attestation */
  InTotoJson: 'application/vnd.in-toto+json',
  /** DSSE envelope in JSON */
  DsseEnvelopeJson: 'application/vnd.dsse.envelope.v1+json',
  /** SARIF log (OASIS SARIF 2.1.0 §3.1) */
  SarifJson: 'application/sarif+json',
} as const;
export type MediaType = (typeof MediaType)[keyof typeof MediaType];

/** in-toto Statement layer v1 (`_type`). */
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** The superseded Statement type, recognised only to say it is unsupported. */
export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
/** SLSA Provenance v1 predicate type. */
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** GitHub's buildType for a top-level GitHub Actions workflow, as actions/attest-build-provenance writes it. */
export const GITHUB_WORKFLOW_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';
/** XML namespace prefix of CycloneDX BOMs; the spec version follows (`.../bom/1.6`). */
export const CYCLONEDX_XML_NAMESPACE_PREFIX = 'http://cyclonedx.org/schema/bom/';
