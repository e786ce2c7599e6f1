// The generator's own cost: the arithmetic on known readings, /proc parsing on known lines
// (a command name with spaces and parentheses), and the real /proc of this process.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuPer10k, generatorUsage, parseProcStat, parseVmHwmKiB } from '../../src/load/generator-usage.ts';

describe('generator usage', () => {
  it('CPU share is user + system CPU over wall time', () => {
    const u = generatorUsage({ user: 1_000_000, system: 500_000 }, { user: 1_600_000, system: 700_000 }, 4_000);
    expect(u.cpuSeconds).toBeCloseTo(0.8, 9);
    expect(u.wallSeconds).toBe(4);
    expect(u.cpuShare).toBeCloseTo(0.2, 9);
    expect(u.workers).toBe(1);
    expect(generatorUsage({ user: 0, system: 0 }, { user: 0, system: 0 }, 0).cpuShare).toBe(0);
  });
  it('CPU-seconds per 10,000 requests', () => {
    expect(cpuPer10k(1.5, 300_000)).toBeCloseTo(0.05, 9);
    expect(cpuPer10k(1, 0)).toBeNaN();
  });
  it('reads utime+stime and cutime+cstime after the command name, whatever it holds', () => {
    // Fields 14–17 are 120 30 7 3; the name has a space and a ')'.
    const line = '4242 (wrk (x) y) S 1 4242 4242 0 -1 4194560 500 0 0 0 120 30 7 3 20 0 2 0 100 1000 200 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ self: 150, children: 10, childrenSystem: 3 });
    expect(() => parseProcStat('garbage')).toThrow(/not understood/);
    expect(() => parseProcStat('1 (x) S 1 2')).toThrow(/field 14 missing/);
  });
  it('reads VmHWM from a status file, and this process has one', () => {
    expect(parseVmHwmKiB('Name:\twrk\nVmPeak:\t  9000 kB\nVmHWM:\t    5284 kB\nVmRSS:\t 5000 kB\n')).toBe(5284);
    expect(parseVmHwmKiB('Name:\tzombie\n')).toBeUndefined();
    expect(parseVmHwmKiB(readFileSync('/proc/self/status', 'utf8'))).toBeGreaterThan(0);
    const self = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(Number.isInteger(self.self) && self.self >= 0).toBe(true);
  });
});
