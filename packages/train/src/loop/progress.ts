import { checkEnum, checkNumber } from '@distillery/tensor';
import type { EpochRecord } from './fit-options';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

interface Sink {
  isTTY?: boolean;
  write(text: string): unknown;
}

function stdout(): Sink | null {
  const p = (globalThis as { process?: { stdout?: Sink } }).process;
  return p?.stdout ?? null;
}

function format(record: EpochRecord, epochs: number): string {
  const extra = Object.entries(record)
    .filter(([k]) => !['epoch', 'step', 'loss', 'lr', 'seconds'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(6)) : v}`)
    .join(' ');
  return `epoch ${record.epoch + 1}/${epochs} loss=${record.loss.toPrecision(6)} lr=${record.lr.toPrecision(4)} time=${record.seconds.toFixed(1)}s${extra ? ` ${extra}` : ''}`;
}

/** A progress bar redrawn in place on a TTY, one plain line per epoch otherwise (or nothing). */
export class ProgressReporter {
  private readonly mode: 'bar' | 'lines' | 'none';
  private readonly out: Sink | null;
  constructor(
    mode: ProgressMode,
    private readonly epochs: number,
    sink?: Sink,
  ) {
    checkEnum(mode, 'mode', ['auto', 'bar', 'lines', 'none']);
    checkNumber(epochs, 'epochs', { min: 0, integer: true });
    this.out = sink ?? stdout();
    if (!this.out) this.mode = mode === 'none' ? 'none' : 'lines';
    else this.mode = mode === 'auto' ? (this.out.isTTY ? 'bar' : 'lines') : mode;
  }

  batch(epoch: number, done: number, total: number, loss: number): void {
    if (this.mode !== 'bar' || !this.out) return;
    const width = 24;
    const filled = Math.round((done / total) * width);
    this.out.write(
      `\repoch ${epoch + 1}/${this.epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} loss ${loss.toPrecision(4)}`,
    );
  }

  epoch(record: EpochRecord): void {
    if (this.mode === 'none') return;
    const line = format(record, this.epochs);
    if (!this.out) console.log(line);
    else this.out.write(this.mode === 'bar' ? `\r\u001b[2K${line}\n` : `${line}\n`);
  }

  done(): void {}
}
