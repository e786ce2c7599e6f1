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

/** Progress: on a TTY one rewritten status line; elsewhere a line per change, at most once a second. */
export function createProgress(io: CliIo) {
  let lastLine = '';
  let lastPrinted = 0;
  return {
    update(line: string) {
      if (io.isTty) {
        process.stderr.write(`\r\x1b[2K${line}`);
        lastLine = line;
        return;
      }
      const now = Date.now();
      if (line !== lastLine && now - lastPrinted >= 1_000) {
        io.err(line);
        lastLine = line;
        lastPrinted = now;
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
