// The command declaration: what parseCommand gives a command, and the declarations it refuses.
import { describe, expect, it } from 'vitest';
import { commandHelp, defineCommand, parseCommand, usageLine, wantsHelp } from '../../src/cli/spec.ts';

const spec = defineCommand({
  name: 'demo',
  summary: 'a command that uses every kind of declaration',
  args: [
    { name: 'first', required: true, description: 'the first file' },
    { name: 'rest', variadic: true, description: 'more files' },
  ],
  flags: {
    verbose: { type: 'boolean', short: 'v', description: 'say more' },
    tag: { type: 'string', multiple: true, short: 't', placeholder: 'label', description: 'labels to add' },
    mode: { type: 'string', choices: ['fast', 'slow'], default: 'fast', description: 'how to go' },
    name: { type: 'string', description: 'a name' },
  },
});

describe('parseCommand', () => {
  it('gives named positionals, defaults, short aliases and repeated flags', () => {
    const p = parseCommand(spec, ['a.ts', '-v', '--tag', 'x', '-t', 'y', 'b.ts', 'c.ts']);
    expect(p).toEqual({ positionals: { first: 'a.ts', rest: ['b.ts', 'c.ts'] }, flags: { verbose: true, tag: ['x', 'y'], mode: 'fast', name: undefined } });
    // Types follow the declaration: these assignments compile only if they do.
    const first: string = p.positionals.first;
    const rest: string[] = p.positionals.rest;
    const mode: 'fast' | 'slow' = p.flags.mode;
    const name: string | undefined = p.flags.name;
    expect([first, rest, mode, name]).toEqual(['a.ts', ['b.ts', 'c.ts'], 'fast', undefined]);
  });

  it('absent flags: booleans false, multiple flags empty', () => {
    expect(parseCommand(spec, ['a.ts']).flags).toEqual({ verbose: false, tag: [], mode: 'fast', name: undefined });
  });

  it('a value after -- is a positional even when it looks like a flag', () => {
    expect(parseCommand(spec, ['a.ts', '--', '--not-a-flag']).positionals).toEqual({ first: 'a.ts', rest: ['--not-a-flag'] });
    expect(wantsHelp(['a.ts', '--', '--help'])).toBe(false);
    expect(wantsHelp(['a.ts', '-h'])).toBe(true);
  });

  it('refuses an unknown short flag, naming it', () => {
    expect(() => parseCommand(spec, ['a.ts', '-x'])).toThrow('unknown flag -x');
  });
});

describe('usage and help come from the declaration', () => {
  it('usage line: required and optional arguments, variadic, choices, placeholders', () => {
    expect(usageLine(spec)).toBe('usage: drill demo <first> [<rest…>] [--verbose] [--tag <label>] [--mode fast|slow] [--name <name>]');
  });

  it('help: short aliases, defaults, repeatable flags', () => {
    const help = commandHelp(spec);
    expect(help).toMatch(/-v, --verbose +say more/);
    expect(help).toMatch(/-t, --tag <label> +labels to add \(repeatable\)/);
    expect(help).toMatch(/--mode fast\|slow +how to go \(default: fast\)/);
  });
});

describe('defineCommand refuses a declaration that cannot be parsed', () => {
  it('a variadic argument that is not last, a required one after an optional one, a declared --help', () => {
    const base = { name: 'bad', summary: 's', flags: {} };
    const variadicFirst = [
      { name: 'a', variadic: true, description: '' },
      { name: 'b', description: '' },
    ];
    expect(() => defineCommand({ ...base, args: variadicFirst })).toThrow(/variadic but not the last/);
    const optionalFirst = [
      { name: 'a', description: '' },
      { name: 'b', required: true, description: '' },
    ];
    expect(() => defineCommand({ ...base, args: optionalFirst })).toThrow(/follows an optional/);
    expect(() => defineCommand({ ...base, args: [], flags: { help: { type: 'boolean', description: '' } } })).toThrow(/--help/);
  });
});
