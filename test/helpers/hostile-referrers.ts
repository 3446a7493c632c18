/**
 * An image an attacker has filled with OCI referrers, in a real registry (Debian's docker-registry,
 * packages/core/test/helpers/storage-registry.ts): a 64 MiB layer, and 1,000 statement referrers
 * that all look like the image's statements (sub pins its manifest digest, receipts attached) but
 * none of which verifies — the hostile release of hostile-gate.ts as referrers: Hash Envelopes
 * naming the 64 MiB layer as their evidence with bad signatures, statements too large to read, junk
 * just under the cap, one statement with a 12 MiB payload behind 40 referrers, Hash Envelopes whose
 * evidence layer (the 64 MiB one) is not the evidence they name. Large blobs are pushed once and named by many referrers, as an attacker
 * would. Docker-registry 2.8 has no referrers API: they are listed by the Referrers Tag Schema index.
 * Shared by test/e2e/gate-memory-referrers.test.ts and test/bench/gate-memory.ts.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { generateKey, publicKey, thumbprint, toPem } from '../../packages/core/src/cose/key.ts';
import { keySigner } from '../../packages/core/src/cose/sign1.ts';
import { issueReceipt } from '../../packages/core/src/receipt/issue.ts';
import { attachReceipts } from '../../packages/core/src/receipt/transparent.ts';
import { createSignedStatement } from '../../packages/core/src/statement/signed-statement.ts';
import {
  ANNOTATION_STATEMENT_DIGEST,
  ANNOTATION_TITLE,
  EMPTY_DIGEST,
  EMPTY_JSON,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  STATEMENT_MEDIA_TYPE,
  referrersTag,
} from '../../packages/core/src/storage/oci/media-types.ts';
import { inPool } from '../../packages/core/src/storage/statements.ts';
import { rawPushBlob, rawPutManifest } from '../../packages/core/test/helpers/storage-registry.ts';
import { MiB } from './hostile-gate.ts';
import { SCITT_MAIN } from './transparency-service.ts';

export interface HostileImage {
  /** oci://HOST/REPO@sha256:… */
  reference: string;
  /** PEM texts the gate trusts: nothing in the registry is signed by them */
  issuerPub: string;
  servicePub: string;
  referrers: number;
}

const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** 64 MiB of non-zero bytes (a sparse zero file would hash as fast, but the gate must never read it at all) */
function layerBytes(): Buffer {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 32) createHash('sha256').update(`layer${i}`).digest().copy(block, i);
  return Buffer.concat(Array.from({ length: 64 }, (_, i) => (i === 0 ? block : Buffer.from(block.map((b) => b ^ i)))));
}

export async function pushHostileImage(registryUrl: string, host: string, o: { repository?: string; referrers?: number } = {}): Promise<HostileImage> {
  const repository = o.repository ?? 'acme/app';
  const total = o.referrers ?? 1000;
  const layer = layerBytes();
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
  const layerDigest = await rawPushBlob(registryUrl, repository, layer);
  const configDigest = await rawPushBlob(registryUrl, repository, config);
  await rawPushBlob(registryUrl, repository, EMPTY_JSON);
  const image = await rawPutManifest(registryUrl, repository, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  }, 'v1');
  const imageSha = image.digest.slice('sha256:'.length);

  const trustedIssuer = generateKey('P-256');
  const trustedService = generateKey('P-256');
  const attacker = generateKey('P-256');
  const signer = keySigner(attacker);
  const kid = thumbprint(trustedIssuer);
  const sub = `pkg:oci/app@sha256%3A${imageSha}?repository_url=${encodeURIComponent(`${host}/${repository}`)}`;
  const receipt = await issueReceipt({ signer: keySigner(generateKey('P-256')), kid: thumbprint(trustedService), iss: 'https://ts.example', iat: 1_700_000_100, proof: { treeSize: 1, leafIndex: 0, path: [] }, root: new Uint8Array(32) });
  const transparent = (bytes: Uint8Array) => attachReceipts(bytes, [receipt]);
  const hashEnvelope = async (digest: Uint8Array, iat: number) =>
    transparent(await createSignedStatement({ payload: digest, signer, kid, iss: 'https://attacker.example', sub, iat, hashEnvelope: { hashAlg: -16, preimageContentType: 'application/vnd.cyclonedx+json', location: 'sbom.cdx.json' } }));

  // each referrer: its statement blob, and for a Hash Envelope the evidence layer it names
  const referrers: { statement: Uint8Array; evidence?: { digest: string; size: number } }[] = [];
  const layerEvidence = { digest: layerDigest, size: layer.length };
  for (let i = 0; i < 5; i++) {
    // an evidence layer that is not the evidence the statement names (the 64 MiB layer, another digest)
    referrers.push({ statement: await hashEnvelope(createHash('sha256').update(`other ${i}`).digest(), 1_700_000_000 + i), evidence: layerEvidence });
  }
  const tooLarge = new Uint8Array(17 * MiB);
  for (let i = 0; i < 10; i++) referrers.push({ statement: tooLarge });
  const junk = new Uint8Array(15 * MiB).fill(0xa5);
  for (let i = 0; i < 10; i++) referrers.push({ statement: junk });
  const big = transparent(await createSignedStatement({ payload: Buffer.alloc(12 * MiB, 0x7b), signer, kid, iss: 'https://attacker.example', sub, iat: 1_700_000_500, contentType: 'application/json' }));
  for (let i = 0; i < 40; i++) referrers.push({ statement: big });
  const digest = createHash('sha256').update(layer).digest();
  while (referrers.length < total) referrers.push({ statement: await hashEnvelope(digest, 1_700_001_000 + referrers.length), evidence: layerEvidence });

  // blobs once each (the large ones are shared), then one manifest per referrer, then the tag index listing them all
  const blobs = new Map<string, Uint8Array>();
  for (const r of referrers) blobs.set(digestOf(r.statement), r.statement);
  await inPool([...blobs.values()], 8, async (b) => void (await rawPushBlob(registryUrl, repository, b)));
  const listed: Record<string, unknown>[] = [];
  await inPool([...referrers.entries()], 8, async ([i, r]) => {
    const statementDigest = digestOf(r.statement);
    const annotations = { [ANNOTATION_STATEMENT_DIGEST]: statementDigest, [ANNOTATION_TITLE]: `app.${i}.scitt` };
    const m = await rawPutManifest(registryUrl, repository, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: STATEMENT_MEDIA_TYPE,
      config: { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: EMPTY_JSON.length },
      layers: [
        { mediaType: STATEMENT_MEDIA_TYPE, digest: statementDigest, size: r.statement.length },
        ...(r.evidence ? [{ mediaType: 'application/vnd.cyclonedx+json', ...r.evidence }] : []),
      ],
      subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
      annotations,
    });
    listed[i] = { mediaType: OCI_MANIFEST, digest: m.digest, size: m.size, artifactType: STATEMENT_MEDIA_TYPE, annotations };
  });
  await rawPutManifest(registryUrl, repository, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: listed }, referrersTag(image.digest));
  return { reference: `oci://${host}/${repository}@${image.digest}`, issuerPub: toPem(publicKey(trustedIssuer)), servicePub: toPem(publicKey(trustedService)), referrers: referrers.length };
}

/** `scitt verify --artifact oci://…` as a child process under /usr/bin/time -v: its output and peak RSS. Key files are written by the caller. */
export function gateImageUnderTime(image: HostileImage, keys: { issuerPub: string; servicePub: string }): Promise<{ code: number; stdout: string; stderr: string; maxRssKiB: number }> {
  const args = ['-v', process.execPath, SCITT_MAIN, 'verify', '--artifact', image.reference, '--ts-keys', keys.servicePub, '--issuer-key', keys.issuerPub, '--require', 'sbom'];
  return new Promise((res) => {
    execFile('/usr/bin/time', args, { maxBuffer: 64 * 1024 * 1024, timeout: 170_000 }, (err, stdout, stderr) => {
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, maxRssKiB: rss ? Number(rss[1]) : Number.NaN });
    });
  });
}
