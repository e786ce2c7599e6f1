// Output for the `drill` command: plain lines for people and logs, a live status line
// on a TTY, JSON for machines. Every command writes through one of these.

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal: progress redraws one line instead of printing many. */
  isTty: boolean;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  isTty: Boolean(process.stderr.isTTY) && process.env.CI !== 'true',
};

/** How often a log (not a terminal) gets a progress line: a 90 s drill then prints about ten, not ninety. */
export const LOG_PROGRESS_EVERY_MS = 10_000;

/**
 * Progress: on a TTY one rewritten status line; elsewhere a changed line at most every
 * LOG_PROGRESS_EVERY_MS (notes — phases, faults in and out — always print). `now` is the clock.
 */
export function createProgress(io: CliIo, now: () => number = Date.now) {
  let lastLine = '';
  let lastPrinted: number | undefined;
  return {
    update(line: string) {
      if (io.isTty) {
        process.stderr.write(`\r\x1b[2K${line}`);
        lastLine = line;
        return;
      }
      const t = now();
      if (line !== lastLine && (lastPrinted === undefined || t - lastPrinted >= LOG_PROGRESS_EVERY_MS)) {
        io.err(line);
        lastLine = line;
        lastPrinted = t;
      }
    },
    /** A line that stays (phase changes, faults in and out). */
    note(line: string) {
      if (io.isTty && lastLine) process.stderr.write('\r\x1b[2K');
      io.err(line);
      if (io.isTty && lastLine) process.stderr.write(lastLine);
    },
    done() {
      if (io.isTty && lastLine) process.stderr.write('\r\x1b[2K');
      lastLine = '';
    },
  };
}
