// A command declares its name, summary, positional arguments and flags once; from that one
// declaration come the parser (node:util parseArgs, strict), the usage line, `--help`, and the
// types of what the command receives. Nothing else describes a command's command line.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { maxOf } from '../util/arrays.ts';

export interface FlagSpec {
  type: 'boolean' | 'string';
  description: string;
  /** One letter: `-j` for `--json`. */
  short?: string;
  /** The flag may be given more than once; the command receives an array. */
  multiple?: boolean;
  /** Used when the flag is absent (booleans default to false, multiple flags to []). */
  default?: string | readonly string[];
  /** How the value is shown in usage: `--out <dir>`. Defaults to `value`. */
  placeholder?: string;
  /** The only values accepted; shown in usage as `--clock real|virtual`. */
  choices?: readonly string[];
  /** The command cannot run without it (a string flag). */
  required?: boolean;
}

export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
  /** Takes every remaining positional (only the last argument). */
  variadic?: boolean;
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  args: readonly ArgSpec[];
  flags: Readonly<Record<string, FlagSpec>>;
}

type Choice<T> = T extends { choices: readonly (infer C extends string)[] } ? C : string;
type Scalar<F extends FlagSpec> = F['type'] extends 'boolean' ? boolean : Choice<F>;
type FlagValue<F extends FlagSpec> = F extends { multiple: true }
  ? Scalar<F>[]
  : F['type'] extends 'boolean'
    ? boolean
    : F extends { default: string } | { required: true }
      ? Scalar<F>
      : Scalar<F> | undefined;
type ArgValue<A extends ArgSpec> = A extends { variadic: true } ? Choice<A>[] : A extends { required: true } ? Choice<A> : Choice<A> | undefined;

/** What a command receives: its positionals by name and its flags, typed from its declaration. */
export interface Parsed<S extends CommandSpec> {
  positionals: { [A in S['args'][number] as A['name']]: ArgValue<A> };
  flags: { -readonly [K in keyof S['flags']]: FlagValue<S['flags'][K]> };
}

/**
 * Declares a command. Checks the declaration itself (a mistake here is a bug, found by the
 * first test that loads the command list): variadic only last, required before optional.
 */
export function defineCommand<const S extends CommandSpec>(spec: S): S {
  const bug = (what: string) => new Error(`command '${spec.name}': ${what}`);
  spec.args.forEach((a, i) => {
    if (a.variadic && i !== spec.args.length - 1) throw bug(`<${a.name}> is variadic but not the last argument`);
    if (a.required && i > 0 && !spec.args[i - 1]!.required) throw bug(`required <${a.name}> follows an optional argument`);
  });
  for (const [name, f] of Object.entries(spec.flags)) {
    if (name === 'help' || f.short === 'h') throw bug("--help/-h is every command's own; do not declare it");
    if (f.type === 'boolean' && (f.default !== undefined || f.required || f.choices)) throw bug(`--${name} is boolean: no default, required or choices`);
    if (f.short !== undefined && f.short.length !== 1) throw bug(`--${name}: short alias must be one letter`);
  }
  return spec;
}

const valueOf = (name: string, f: FlagSpec) => (f.choices ? f.choices.join('|') : `<${f.placeholder ?? name}>`);
const flagForm = (name: string, f: FlagSpec) => (f.type === 'boolean' ? `--${name}` : `--${name} ${valueOf(name, f)}`);
const argForm = (a: ArgSpec) => {
  const inner = a.choices ? a.choices.join('|') : `<${a.name}${a.variadic ? '…' : ''}>`;
  const shown = a.choices && a.variadic ? `${inner}…` : inner;
  return a.required ? shown : `[${shown}]`;
};

/** `usage: drill run <drill-file> [--drill <name>] [--env <name>] [--dry-run] …` */
export function usageLine(spec: CommandSpec): string {
  const flags = Object.entries(spec.flags).map(([n, f]) => (f.required ? flagForm(n, f) : `[${flagForm(n, f)}]`));
  return ['usage: drill', spec.name, ...spec.args.map(argForm), ...flags].join(' ');
}

/** `drill <command> --help`: usage, summary, then every argument and flag with its description and default. */
export function commandHelp(spec: CommandSpec): string {
  const rows = (entries: Array<[string, string]>) => {
    const w = maxOf(entries.map(([l]) => l.length));
    return entries.map(([l, d]) => `  ${l.padEnd(w)}  ${d}`);
  };
  const flagRows: Array<[string, string]> = Object.entries(spec.flags).map(([n, f]) => {
    const def = f.default === undefined ? '' : ` (default: ${Array.isArray(f.default) ? f.default.join(', ') : f.default})`;
    const notes = `${f.required ? ' (required)' : ''}${f.multiple ? ' (repeatable)' : ''}${def}`;
    return [`${f.short ? `-${f.short}, ` : ''}${flagForm(n, f)}`, `${f.description}${notes}`];
  });
  flagRows.push(['-h, --help', 'print this help']);
  const lines = [usageLine(spec), '', spec.summary];
  if (spec.args.length) lines.push('', 'arguments:', ...rows(spec.args.map((a) => [argForm(a), a.description]))); // eslint-disable-line no-restricted-syntax -- a command's few arguments
  lines.push('', 'flags:', ...rows(flagRows)); // eslint-disable-line no-restricted-syntax -- a command's few flags
  return lines.join('\n');
}

/** True when `-h`/`--help` appears before any `--` terminator: help wins over every other problem. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Parses argv against the declaration. Unknown flag, missing or unwanted value, value outside
 * the choices, missing required argument or flag, extra argument: a UsageError naming it.
 */
export function parseCommand<S extends CommandSpec>(spec: S, argv: readonly string[]): Parsed<S> {
  const options = Object.fromEntries(
    Object.entries(spec.flags).map(([n, f]) => [n, { type: f.type, multiple: f.multiple ?? false, ...(f.short ? { short: f.short } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(explain(spec, argv) ?? (err as Error).message.split('\n')[0]!);
  }
  const flags: Record<string, unknown> = {};
  for (const [n, f] of Object.entries(spec.flags)) {
    const given = (parsed.values as Record<string, string | boolean | Array<string | boolean> | undefined>)[n];
    const absent = f.multiple ? [...((f.default as readonly string[] | undefined) ?? [])] : f.type === 'boolean' ? false : f.default;
    const value = given ?? absent;
    if (f.required && value === undefined) throw new UsageError(`${flagForm(n, f)} is required`);
    if (f.choices) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
        if (!f.choices.includes(v as string)) throw new UsageError(`--${n} takes ${f.choices.join(' or ')}, not '${String(v)}'`);
      }
    }
    flags[n] = value;
  }
  const positionals: Record<string, string | string[] | undefined> = {};
  const rest = [...parsed.positionals];
  for (const a of spec.args) {
    const values = a.variadic ? rest.splice(0) : rest.splice(0, 1);
    if (a.required && values.length === 0) throw new UsageError(`missing ${argForm(a)}`);
    for (const v of values) if (a.choices && !a.choices.includes(v)) throw new UsageError(`<${a.name}> is one of ${a.choices.join(', ')}, not '${v}'`);
    positionals[a.name] = a.variadic ? values : values[0];
  }
  if (rest.length) throw new UsageError(`unexpected argument${rest.length > 1 ? 's' : ''} ${rest.map((r) => `'${r}'`).join(' ')}`);
  return { positionals, flags } as Parsed<S>;
}

/** A short message for what strict parseArgs refused, from the tokens of a lenient parse. */
function explain(spec: CommandSpec, argv: readonly string[]): string | undefined {
  const options = Object.fromEntries(Object.entries(spec.flags).map(([n, f]) => [n, { type: f.type, ...(f.short ? { short: f.short } : {}) }]));
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const f = spec.flags[t.name];
    if (!f) return `unknown flag ${t.rawName}`;
    if (f.type === 'boolean' && t.value !== undefined) return `${t.rawName} takes no value`;
    if (f.type === 'string' && t.value === undefined) return `${t.rawName} needs a value: ${flagForm(t.name, f)}`;
    if (f.type === 'string' && !t.inlineValue && t.value?.startsWith('-')) {
      return `${t.rawName} needs a value, got the flag ${t.value} (if that is the value, write ${t.rawName}=${t.value})`;
    }
  }
  return undefined;
}
