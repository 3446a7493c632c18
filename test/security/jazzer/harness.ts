/**
 * A jazzer.js fuzz function for one target of fuzz-targets.ts: a typed refusal (ScittError) is a
 * normal outcome; anything else thrown is a finding. `./dev fuzz <target> [seconds]` runs it.
 */
import { isRefusal, loadTargets, target } from '../fuzz-targets.ts';

await loadTargets();

export function harness(name: string): (data: Buffer) => void {
  const t = target(name);
  return (data: Buffer) => {
    try {
      t.run(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      if (!isRefusal(e)) throw e;
    }
  };
}
