/**
 * Signed notes, checkpoints and cosignatures against the vectors the specs and golang.org/x/mod's
 * note package publish (c2sp.org/signed-note, tlog-checkpoint, tlog-cosignature).
 */
import { describe, expect, it } from 'vitest';
import { NoteError, SIG_COSIGNATURE_V1, checkpointBody, cosignedMessage, ed25519Cosigner, ed25519Signer, ed25519Verifier, formatSignerKey, generateEd25519Seed, openCheckpoint, openNote, parseCheckpointBody, parseNote, parseSignerKey, parseVerifierKey, signCheckpoint, signNote } from '@scitt-actions/core/checkpoint';

// golang.org/x/mod/sumdb/note's test vectors.
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as NoteError).code;
  }
  return 'no error';
};

describe('signed note', () => {
  it('signs exactly as the reference implementation does', () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(signer.verifierKey).toBe(PETER_VKEY);
    expect(signNote(TEXT, [signer])).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('verifies known keys, ignores unknown ones, refuses a note no trusted key signed', () => {
    const peter = parseVerifierKey(PETER_VKEY);
    const enoch = parseVerifierKey(ENOCH_VKEY);
    const both = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
    expect(openNote(both, [peter]).verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(openNote(both, [peter, enoch]).verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(code(() => openNote(both, []))).toBe('ERR_NOTE_UNVERIFIED');
    expect(openNote(both, [peter]).text).toBe(TEXT);
  });

  it('refuses a note whose known signature fails, and malformed notes', () => {
    const peter = parseVerifierKey(PETER_VKEY);
    expect(code(() => openNote(`${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`, [peter]))).toBe('ERR_NOTE_SIGNATURE');
    for (const bad of [TEXT, `${TEXT}\n`, `${TEXT}\n${PETER_SIG.slice(0, -1)}`, `\x01${TEXT}\n${PETER_SIG}`, `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`, `${TEXT}\n${PETER_SIG}Unexpected line.\n`]) {
      expect(code(() => openNote(bad, [peter]))).toBe('ERR_NOTE_MALFORMED');
    }
    expect(code(() => openNote(new Uint8Array([0xff, ...Buffer.from(`${TEXT}\n${PETER_SIG}`)]), [peter]))).toBe('ERR_NOTE_MALFORMED');
    expect(code(() => openNote(`${TEXT}\n${PETER_SIG.repeat(101)}`, [peter]))).toBe('ERR_NOTE_MALFORMED');
  });

  it('refuses mangled verifier and signer keys', () => {
    expect(code(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='))).toBe('ERR_NOTE_KEY');
    expect(code(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'))).toBe('ERR_NOTE_KEY');
    expect(code(() => parseVerifierKey(PETER_VKEY.replace('c74f20a3', 'c74f20a4')))).toBe('ERR_NOTE_KEY');
    expect(code(() => parseSignerKey(PETER_SKEY.replace('AYEK', 'AYEL')))).toBe('ERR_NOTE_KEY');
    for (let i = 1; i < PETER_VKEY.length; i++) expect(code(() => parseVerifierKey(PETER_VKEY.slice(0, i)))).not.toBe('no error');
  });

  it('round-trips generated keys', () => {
    const seed = generateEd25519Seed();
    const s = parseSignerKey(formatSignerKey('example.com/log', seed));
    const note = signNote('hello\n', [s]);
    expect(openNote(note, [parseVerifierKey(s.verifierKey)]).text).toBe('hello\n');
  });
});

describe('checkpoint', () => {
  const root = new Uint8Array(Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64'));

  it('formats and parses the body of the spec example', () => {
    const body = checkpointBody({ origin: 'example.com/behind-the-sofa', size: 20852163, root });
    expect(body).toBe('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
    expect(parseCheckpointBody(body)).toEqual({ origin: 'example.com/behind-the-sofa', size: 20852163, root, extensions: [] });
  });

  it('refuses leading zeroes, bad roots, too few lines', () => {
    const bad = ['o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n', 'o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n', 'o\n1\n', 'o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n', 'o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n'];
    for (const b of bad) expect(code(() => parseCheckpointBody(b))).toBe('ERR_CHECKPOINT_MALFORMED');
  });

  it('reads the spec example cosignature line: key ID, then the big-endian timestamp of its message', () => {
    const line = '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n';
    const n = parseNote(`${checkpointBody({ origin: 'example.com/behind-the-sofa', size: 20852163, root })}\n${line}`);
    const sig = n.signatures[0]!;
    expect(sig.name).toBe('witness.example.com/w1');
    expect(sig.signature.length).toBe(72);
    expect(Number(Buffer.from(sig.signature.subarray(0, 8)).readBigUInt64BE(0))).toBe(1679315147);
    expect(cosignedMessage('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n', 1679315147)).toBe(
      'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
  });

  it('signs, cosigns and opens a checkpoint; a cosignature over another body fails', () => {
    const log = ed25519Signer('example.com/log', generateEd25519Seed());
    const w = ed25519Cosigner('witness.example/w1', generateEd25519Seed());
    const wv = parseVerifierKey(w.verifierKey);
    expect(wv.type).toBe(SIG_COSIGNATURE_V1);
    const signed = signCheckpoint({ origin: 'example.com/log', size: 5, root }, log);
    const body = parseNote(signed).text;
    const cosigned = signed + w.cosign(body, 1700000000);
    const opened = openCheckpoint(cosigned, parseVerifierKey(log.verifierKey), [wv]);
    expect(opened.size).toBe(5);
    expect(opened.cosigners).toEqual([{ name: 'witness.example/w1', timestamp: 1700000000 }]);
    // A cosignature taken from another checkpoint does not verify here.
    const other = signCheckpoint({ origin: 'example.com/log', size: 6, root }, log);
    const stolen = w.cosign(parseNote(other).text, 1700000000);
    expect(code(() => openCheckpoint(signed + stolen, parseVerifierKey(log.verifierKey), [wv]))).toBe('ERR_NOTE_SIGNATURE');
    // The origin must be the log key's name.
    const wrong = ed25519Signer('example.com/log', generateEd25519Seed());
    expect(code(() => openCheckpoint(signed, ed25519Verifier(wrong.name, wrong.publicKey)))).toBe('ERR_NOTE_UNVERIFIED');
  });
});
