import type { SeedProgress } from './seed.ts';

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

const BAR_WIDTH = 30;
const PHASE_TEXT: Record<SeedProgress['phase'], string> = {
  prepare: 'migrating and planning',
  trades: 'writing trades',
  indexes: 'rebuilding indexes and foreign keys',
  accounts: 'computing account figures',
  analyze: 'vacuuming and analyzing tables',
};

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

/**
 * The seed's progress on stderr: on a terminal one bar redrawn in place with rate and ETA; in a log
 * (CI, a pipe) a line at each tenth, so the log stays readable.
 */
export function createProgressReporter(
  out: ProgressOutput,
  clock: () => number = () => performance.now(),
): (progress: SeedProgress) => void {
  let started = clock();
  let phase: SeedProgress['phase'] | undefined;
  let lastDraw = -Infinity;
  let lastTenth = 0;
  let barShown = false;

  return (progress) => {
    const at = clock();
    if (progress.phase !== phase) {
      if (barShown) out.write('\n');
      barShown = false;
      phase = progress.phase;
      started = at;
      if (phase !== 'trades') out.write(`${PHASE_TEXT[phase]}…\n`);
    }
    if (progress.phase !== 'trades' || progress.total <= 0) return;

    const fraction = Math.min(1, progress.done / progress.total);
    const elapsed = (at - started) / 1000;
    const rate = elapsed > 0 ? progress.done / elapsed : 0;
    const eta = rate > 0 ? (progress.total - progress.done) / rate : Number.POSITIVE_INFINITY;
    const counts = `${progress.done.toLocaleString('en')}/${progress.total.toLocaleString('en')} trades`;
    const speed = `${Math.round(rate).toLocaleString('en')}/s`;

    if (out.isTTY) {
      if (at - lastDraw < 100 && fraction < 1) return;
      lastDraw = at;
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
      out.write(
        `\r\x1b[2K${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${counts}  ${speed}  ETA ${duration(eta)}`,
      );
      barShown = true;
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth > lastTenth || (fraction === 1 && lastTenth < 10)) {
      lastTenth = tenth;
      out.write(`${PHASE_TEXT.trades}: ${tenth * 10}% ${counts} ${speed} ETA ${duration(eta)}\n`);
    }
  };
}
