/**
 * A one-line progress display for hashing on a terminal. It writes to stderr only when stderr is a
 * TTY and the caller is not in JSON mode, so logs and machine-readable output stay clean; a few lines
 * here instead of a dependency, since all it does is redraw one line.
 */
import type { HashProgress } from './hashing.ts';

export interface ProgressRendererOptions {
  /** where to draw; default process.stderr */
  stream?: NodeJS.WriteStream;
  /** JSON output mode: stay silent */
  json?: boolean;
  /** explicitly silent */
  quiet?: boolean;
  /** word before the counts; default "hashing" */
  label?: string;
  /** minimum milliseconds between redraws; default 100 */
  intervalMs?: number;
}

export interface ProgressRenderer {
  /** true when nothing will be drawn */
  readonly silent: boolean;
  update(progress: HashProgress): void;
  /** clears the line (call once when done) */
  done(): void;
}

/** Binary units, as file sizes are shown by most tools. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** The text of one progress line, e.g. `hashing 3/10 files  512.0 MiB / 1.0 GiB  50%  820 MB/s`. */
export function progressLine(p: HashProgress, elapsedMs: number, label = 'hashing'): string {
  const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100;
  const rate = elapsedMs > 0 ? `  ${((p.bytesDone / 1e6) * (1000 / elapsedMs)).toFixed(0)} MB/s` : '';
  const files = p.filesTotal > 1 ? ` ${p.filesDone}/${p.filesTotal} files ` : ' ';
  return `${label}${files} ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}  ${pct}%${rate}`;
}

export function createProgressRenderer(options: ProgressRendererOptions = {}): ProgressRenderer {
  const stream = options.stream ?? process.stderr;
  const silent = Boolean(options.json || options.quiet || !stream.isTTY);
  const interval = options.intervalMs ?? 100;
  const started = performance.now();
  let last = 0;
  let drawn = false;
  return {
    silent,
    update(p) {
      if (silent) return;
      const now = performance.now();
      const finished = p.filesDone === p.filesTotal && p.bytesDone >= p.bytesTotal;
      if (now - last < interval && !finished) return;
      last = now;
      const columns = stream.columns || 80;
      stream.write(`\r${progressLine(p, now - started, options.label).slice(0, columns - 1)}\x1b[K`);
      drawn = true;
    },
    done() {
      if (silent || !drawn) return;
      stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
