// Every field a user writes is declared once, in its schema, with a doc comment that their
// editor shows: this walks the derived input types with the TypeScript checker and lists
// every schema field (at any depth) that has none.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const DEFINE_DIR = fileURLToPath(new URL('../../src/define/', import.meta.url));
const ENTRY = `${DEFINE_DIR}index.ts`;
const INPUT_TYPES = [
  'DrillInput',
  'GameDayInput',
  'PhaseInput',
  'FaultInput',
  'ProbeInput',
  'StopInput',
  'ToleranceInput',
  'SloInput',
  'AlertInput',
  'LoadProfileInput',
  'JourneyInput',
  'BrowserJourneyInput',
  'BakeInput',
  'ConfigInput',
];

function program() {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  };
  const prog = ts.createProgram([ENTRY], options);
  const checker = prog.getTypeChecker();
  const entry = checker.getSymbolAtLocation(prog.getSourceFile(ENTRY)!)!;
  const exports = new Map(checker.getExportsOfModule(entry).map((s) => [s.name, s]));
  return { checker, exports };
}

/** A field of a schema shape: a property written in an object literal under define/. */
function schemaField(symbol: ts.Symbol): ts.Declaration | undefined {
  const inShape = (d: ts.Declaration) => ts.isPropertyAssignment(d) || ts.isShorthandPropertyAssignment(d);
  return symbol.getDeclarations()?.find((d) => inShape(d) && d.getSourceFile().fileName.startsWith(DEFINE_DIR));
}

/** Paths of schema fields without a doc comment, and the `@default` tags seen (path → text). */
function walk(checker: ts.TypeChecker, root: ts.Type, rootName: string) {
  const undocumented: string[] = [];
  const defaults = new Map<string, string>();
  const seen = new Set<ts.Type>();
  const visit = (type: ts.Type, path: string): void => {
    if (seen.has(type)) return;
    seen.add(type);
    if (type.isUnion() || type.isIntersection()) {
      if (type.isUnion()) for (const t of type.types) visit(t, path);
      else for (const p of checker.getPropertiesOfType(type)) field(p, path);
      return;
    }
    if (!(type.flags & ts.TypeFlags.Object) || type.getCallSignatures().length > 0) return;
    if (checker.isArrayType(type) || checker.isTupleType(type)) {
      for (const t of checker.getTypeArguments(type as ts.TypeReference)) visit(t, `${path}[]`);
      return;
    }
    for (const info of checker.getIndexInfosOfType(type)) visit(info.type, `${path}[key]`);
    for (const p of checker.getPropertiesOfType(type)) field(p, path);
  };
  const field = (p: ts.Symbol, path: string): void => {
    const at = `${path}.${p.name}`;
    const decl = schemaField(p);
    if (decl) {
      if (ts.displayPartsToString(p.getDocumentationComment(checker)).trim() === '') undocumented.push(at);
      const tag = p.getJsDocTags(checker).find((t) => t.name === 'default');
      if (tag) defaults.set(at, ts.displayPartsToString(tag.text));
    }
    visit(checker.getNonNullableType(checker.getTypeOfSymbol(p)), at);
  };
  visit(root, rootName);
  return { undocumented: [...new Set(undocumented)], defaults };
}

describe('input types carry their fields’ doc comments', () => {
  const { checker, exports } = program();
  const results = new Map(
    INPUT_TYPES.map((name) => {
      const symbol = exports.get(name);
      if (!symbol) throw new Error(`define/index.ts does not export ${name}`);
      return [name, walk(checker, checker.getDeclaredTypeOfSymbol(checker.getAliasedSymbol(symbol)), name)] as const;
    }),
  );

  it.each(INPUT_TYPES)('%s: every field has a doc comment', (name) => {
    expect(results.get(name)!.undocumented).toEqual([]);
  });

  it('defaults are documented where the schema applies one', () => {
    const drill = results.get('DrillInput')!.defaults;
    expect(drill.get('DrillInput.recoveryPasses')).toBe('3');
    expect(drill.get('DrillInput.observe')).toBe("'5s'");
    expect(results.get('FaultInput')!.defaults.get('FaultInput.direction')).toBe("'to'");
    expect(results.get('ConfigInput')!.defaults.get('ConfigInput.evidenceDir')).toBe("'evidence-pack'");
    expect(results.get('SloInput')!.defaults.get('SloInput.period')).toBe("'30d'");
  });
});
