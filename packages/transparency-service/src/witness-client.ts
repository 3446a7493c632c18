/**
 * The service as a client of witnesses (c2sp.org/tlog-witness): for each new committed size it asks
 * every configured witness to cosign the checkpoint, with a consistency proof from the size that
 * witness last cosigned (learnt from its 409 answer when unknown), verifies each returned
 * cosignature against the witness key it was configured with, and publishes the checkpoint with the
 * cosignatures it got (kept in the data directory). A witness that refuses or fails is logged; the
 * checkpoint is published without it, or with the cosignature it gave on that same checkpoint before.
 */
import { MAX_NOTE_BYTES, type NoteVerifier, openNote, parseNote, parseVerifierKey } from '@scitt-actions/core/checkpoint';
import { readBounded } from '@scitt-actions/core/tiles';
import type { CheckpointPublisher } from './checkpoints.ts';

export interface WitnessConfig {
  /** the witness's submission prefix; add-checkpoint is POSTed below it */
  url: string;
  /** its cosigner verifier key, `<name>+<key id>+<base64(0x04 ‖ key)>` */
  key: string;
}

/** Whether a kept cosignature line is by this witness key (name and key ID). */
function isBy(line: string, v: NoteVerifier): boolean {
  const sig = parseNote(`-\n\n${line}`).signatures[0]!;
  return sig.name === v.name && sig.keyId === v.keyId;
}

interface Witness {
  url: string;
  verifier: NoteVerifier;
  /** the size it last cosigned for this log, when known */
  size: number | undefined;
}

export class WitnessCollector {
  readonly #publisher: CheckpointPublisher;
  readonly #witnesses: Witness[];
  readonly #logLine: (fields: Record<string, unknown>) => void;

  constructor(publisher: CheckpointPublisher, witnesses: readonly WitnessConfig[], logLine: (fields: Record<string, unknown>) => void) {
    this.#publisher = publisher;
    this.#witnesses = witnesses.map((w) => ({ url: w.url, verifier: parseVerifierKey(w.key), size: undefined }));
    this.#logLine = logLine;
  }

  /** Collects cosignatures on the checkpoint at `size`, then publishes it. */
  async collect(size: number): Promise<void> {
    const note = this.#publisher.signedCheckpoint(size);
    if (!note) return;
    const lines = await Promise.all(this.#witnesses.map((w) => this.#ask(w, note, size).catch((e: unknown) => {
      this.#logLine({ level: 'warn', msg: 'witness did not cosign', witness: w.url, treeSize: size, error: (e as Error).message });
      return undefined;
    })));
    // A witness that does not answer now keeps the cosignature it gave on this same checkpoint (before a restart).
    const held = this.#publisher.cosignatures.get(size) ?? [];
    const merged = this.#witnesses.flatMap((w, i) => lines[i] ?? held.filter((l) => isBy(l, w.verifier)));
    this.#publisher.cosignatures.set(size, merged);
    for (const k of this.#publisher.cosignatures.keys()) if (k < size) this.#publisher.cosignatures.delete(k);
    this.#publisher.publishedSize = size;
    if (merged.length > 0) this.#publisher.saveCosigned(size);
  }

  async #ask(w: Witness, note: string, size: number): Promise<string> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const old = w.size ?? 0;
      if (old > size) throw new Error(`witness has cosigned size ${old}, beyond this log's ${size}`);
      const proof = old > 0 && old < size ? this.#publisher.consistencyProof(old, size).path : [];
      const body = `old ${old}\n${proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('')}\n${note}`;
      const res = await fetch(new URL('add-checkpoint', w.url.endsWith('/') ? w.url : `${w.url}/`), {
        method: 'POST',
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      });
      // cosignature lines or a size: a few hundred bytes; never more than a note
      const text = Buffer.from(await readBounded(res, MAX_NOTE_BYTES, `the answer of witness ${w.url}`)).toString('utf8');
      if (res.status === 409 && (res.headers.get('content-type') ?? '').startsWith('text/x.tlog.size')) {
        const m = /^(0|[1-9][0-9]*)\n$/.exec(text);
        if (!m) throw new Error(`witness answered 409 with a malformed size ${JSON.stringify(text.slice(0, 40))}`);
        const known = Number(m[1]);
        if (known === old) throw new Error(`witness refuses the checkpoint at size ${size}: it conflicts with the one it cosigned at that size`);
        w.size = known;
        continue;
      }
      if (res.status !== 200) throw new Error(`witness answered ${res.status}: ${text.slice(0, 200)}`);
      // Keep only cosignature lines by the configured key that verify on this checkpoint.
      const mine = parseNote(`${note}${text}`).signatures.filter((s) => s.name === w.verifier.name && s.keyId === w.verifier.keyId);
      if (mine.length === 0) throw new Error('witness answered 200 without a cosignature by its configured key');
      openNote(parseNote(note).text + '\n' + mine.map((s) => s.line).join(''), [w.verifier]);
      w.size = size;
      return mine.map((s) => s.line).join('');
    }
    throw new Error('witness kept answering 409');
  }
}
