// Keys a team can manage (issue #15, item 6), through `drill` in this process against a real
// drill on a `hosts` environment: sign with --signing-key or DRILLBOOK_SIGNING_KEY_FILE, rotate
// with `drill keygen --rotate`, verify old and new packs with a keyring, and find the private key
// nowhere it must not be — not in a pack, a record, the run log or anything the CLI printed.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { parseKeyring, resolveSigningKey, SIGNING_KEY_FILE_ENV } from '../../src/evidence/keys.ts';
import { keyIdOf } from '../../src/evidence/sign.ts';
import { readStatement } from '../../src/evidence/statement.ts';
import { walkPack } from '../../src/evidence/pack-fs.ts';
import { pushAll } from '../../src/util/arrays.ts';

const repo = resolve(__dirname, '../../../..');
// Inside the repo so '@drillbook/harness' resolves as it does for users; the keys live outside it.
const project = mkdtempSync(join(repo, '.tmp-signing-keys-'));
const keys = mkdtempSync(join(tmpdir(), 'drillbook-team-keys-'));
const startDir = process.cwd();
const printed: string[] = [];
let service: Server;

async function drill(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTty: false };
  process.chdir(project);
  const code = await main(argv, io);
  pushAll(printed, out);
  pushAll(printed, err);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const pack = (release: string) => join(project, 'evidence-pack', `release-${release}`);
const signerOf = (release: string) => readStatement(pack(release), walkPack(pack(release))).keyids;
const keyidOfPub = (file: string) => keyIdOf(createPublicKey(readFileSync(file, 'utf8')));

/** Every regular file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** The forms a private key could leak in: its PEM body, its DER, its 32-byte seed raw, in hex and base64. */
function secretForms(pem: string): Array<{ name: string; bytes: Buffer }> {
  const key = createPrivateKey(pem);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const seed = Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url');
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return [
    { name: 'PEM body', bytes: Buffer.from(body) },
    { name: 'DER', bytes: der },
    { name: 'seed', bytes: seed },
    { name: 'seed hex', bytes: Buffer.from(seed.toString('hex')) },
    { name: 'seed base64', bytes: Buffer.from(seed.toString('base64').replace(/=+$/, '')) },
    { name: 'seed base64url', bytes: Buffer.from(seed.toString('base64url')) },
  ];
}

beforeAll(async () => {
  service = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((done) => service.listen(0, '127.0.0.1', done));
  const port = (service.address() as AddressInfo).port;
  mkdirSync(join(project, 'drills'));
  writeFileSync(
    join(project, 'drillbook.config.ts'),
    `import { defineConfig } from '@drillbook/harness';
export default defineConfig({ environments: { box: { kind: 'hosts', targets: { api: { url: 'http://127.0.0.1:${port}' } } } } });
`,
  );
  writeFileSync(
    join(project, 'drills', 'calm.ts'),
    `import { defineGameDay, probe } from '@drillbook/harness';
export default defineGameDay({
  name: 'calm',
  environments: ['box'],
  steadyState: [probe.http({ name: 'ready', target: 'api', path: '/readyz', every: '200ms' })],
  phases: [{ name: 'quiet', duration: '1s' }],
});
`,
  );
  writeFileSync(
    join(project, 'drills', 'soak.ts'),
    `import { defineBake } from '@drillbook/harness';
export default defineBake({ name: 'soak', environments: ['box'], duration: '2h', checkpoint: '1h' });
`,
  );
});
afterEach(() => process.chdir(startDir));
afterAll(async () => {
  await new Promise((done) => service.close(done));
  rmSync(project, { recursive: true, force: true });
  rmSync(keys, { recursive: true, force: true });
});

describe('signing keys a team manages', () => {
  let firstPem = '';
  let secondPem = '';

  it('keygen writes a pair and a keyring; run, bake and review sign with --signing-key, never making a project key', async () => {
    const k = await drill('keygen', '--out', keys);
    expect(k.code, k.err).toBe(0);
    expect(statSync(join(keys, 'signing.key')).mode & 0o777).toBe(0o600);
    firstPem = readFileSync(join(keys, 'signing.key'), 'utf8');
    const first = keyidOfPub(join(keys, 'signing.pub'));
    expect(parseKeyring(readFileSync(join(keys, 'keyring.pub'), 'utf8'), 'keyring').map(keyIdOf)).toEqual([first]);

    const run = await drill('run', 'calm', '--release', 'old', '--signing-key', join(keys, 'signing.key'));
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`signed, keyid ${first.slice(0, 16)}`);
    expect(signerOf('old')).toEqual([first]);
    const bake = await drill('bake', 'drills/soak.ts', '--clock', 'virtual', '--env', 'box', '--release', 'old', '--signing-key', join(keys, 'signing.key'));
    expect(bake.code, bake.err).toBe(0);
    const review = await drill('review', '--release', 'old', '--signing-key', join(keys, 'signing.key'));
    expect([0, 1]).toContain(review.code); // GO or NO-GO: what matters here is the seal
    expect(signerOf('old')).toEqual([first]);
    const ok = await drill('verify', pack('old'), '--key', join(keys, 'signing.pub'));
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain(`the signature verifies (keyid ${first.slice(0, 16)}`);
    expect(existsSync(join(project, '.drillbook', 'keys'))).toBe(false);
    expect(process.env[SIGNING_KEY_FILE_ENV]).toBeUndefined(); // the flag held for its command only
  });

  it('keygen --rotate: a new pair, the old public key kept in the keyring; old and new packs verify with the keyring', async () => {
    const before = keyidOfPub(join(keys, 'signing.pub'));
    const r = await drill('keygen', '--out', keys, '--rotate');
    expect(r.code, r.err).toBe(0);
    secondPem = readFileSync(join(keys, 'signing.key'), 'utf8');
    expect(secondPem).not.toBe(firstPem);
    expect(statSync(join(keys, 'signing.key')).mode & 0o777).toBe(0o600);
    const after = keyidOfPub(join(keys, 'signing.pub'));
    expect(parseKeyring(readFileSync(join(keys, 'keyring.pub'), 'utf8'), 'keyring').map(keyIdOf)).toEqual([after, before]);
    writeFileSync(join(keys, 'old.pub'), createPublicKey(firstPem).export({ type: 'spki', format: 'pem' }));

    // A pipeline names its key file in the variable; a new release is signed with the new key.
    process.env[SIGNING_KEY_FILE_ENV] = join(keys, 'signing.key');
    try {
      const run = await drill('run', 'calm', '--release', 'new');
      expect(run.code, run.err).toBe(0);
    } finally {
      delete process.env[SIGNING_KEY_FILE_ENV];
    }
    expect(signerOf('new')).toEqual([after]);
    expect(signerOf('old')).toEqual([before]);

    // The old pack: the new key alone refuses it, naming the keyid it was signed with; the keyring or both keys verify it.
    const newOnly = await drill('verify', pack('old'), '--key', join(keys, 'signing.pub'));
    expect(newOnly.code).toBe(1);
    expect(newOnly.out).toContain(`signed by keyid ${before.slice(0, 16)}…, which is not the given key`);
    for (const args of [
      ['--keyring', join(keys, 'keyring.pub')],
      ['--key', join(keys, 'signing.pub'), '--key', join(keys, 'old.pub')],
    ]) {
      const v = await drill('verify', pack('old'), ...args);
      expect(v.code, `${args.join(' ')}\n${v.out}`).toBe(0);
    }
    const v2 = await drill('verify', pack('new'), '--keyring', join(keys, 'keyring.pub'));
    expect(v2.code, v2.out).toBe(0);

    // Writing into the old release with the new key: its statement was signed by a key in the keyring, so the seal accepts it.
    const more = await drill('run', 'calm', '--release', 'old', '--signing-key', join(keys, 'signing.key'));
    expect(more.code, more.err).toBe(0);
    expect(signerOf('old')).toEqual([after]);
    expect((await drill('verify', pack('old'), '--keyring', join(keys, 'keyring.pub'))).code).toBe(0);
  });

  it('a key file that is missing or not a private key is exit 2 naming the file; nothing is signed with a fresh key instead', async () => {
    const missing = await drill('run', 'calm', '--release', 'x', '--signing-key', join(keys, 'nope.key'));
    expect(missing.code).toBe(2);
    expect(`${missing.out}\n${missing.err}`).toContain(`${join(keys, 'nope.key')}: ENOENT`);
    const pub = await drill('run', 'calm', '--release', 'y', '--signing-key', join(keys, 'signing.pub'));
    expect(pub.code).toBe(2);
    expect(`${pub.out}\n${pub.err}`).toContain('not a PEM private key');
    expect(existsSync(join(project, '.drillbook', 'keys'))).toBe(false);
    // A keyring that holds a private key is refused too, without echoing it.
    writeFileSync(join(keys, 'bad-ring.pub'), firstPem);
    const ring = await drill('verify', pack('new'), '--keyring', join(keys, 'bad-ring.pub'));
    expect(ring.code).toBe(2);
    expect(ring.err).toContain('a keyring holds public keys only');
    rmSync(join(keys, 'bad-ring.pub'));
  });

  it('without a named key the project key is made on first use, with its keyring', () => {
    const root = mkdtempSync(join(tmpdir(), 'drillbook-project-key-'));
    try {
      const notes: string[] = [];
      const k = resolveSigningKey(root, (l) => notes.push(l), {});
      expect(k.origin).toBe(join(root, '.drillbook', 'keys', 'signing.key'));
      expect(notes.join('\n')).toContain('made a signing key for this machine: .drillbook/keys/signing.pub');
      expect(parseKeyring(readFileSync(join(root, '.drillbook', 'keys', 'keyring.pub'), 'utf8'), 'k').map(keyIdOf)).toEqual([k.keyid]);
      expect(resolveSigningKey(root, () => {}, {}).keyid).toBe(k.keyid); // used again, not remade
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('the private keys are in no pack, record, run log, journal or anything the CLI printed', () => {
    const files = filesUnder(project).filter((f) => !f.includes(`${join(project, 'node_modules')}`));
    expect(files.some((f) => f.includes('/chaos-dr/run-'))).toBe(true);
    expect(files.some((f) => /\.drillbook\/runs\/.+\.jsonl$/.test(f))).toBe(true); // the run logs are there to search
    const output = Buffer.from(printed.join('\n'));
    const leaks: string[] = [];
    for (const [which, pem] of [
      ['first', firstPem],
      ['second', secondPem],
    ] as const)
      for (const form of secretForms(pem)) {
        for (const f of files) if (readFileSync(f).includes(form.bytes)) leaks.push(`${which} key's ${form.name} in ${f}`);
        if (output.includes(form.bytes)) leaks.push(`${which} key's ${form.name} in the CLI output`);
      }
    expect(leaks).toEqual([]);
    // The search is not blind: a file holding a key's PEM and DER is found in each raw form.
    const control = generateKeyPairSync('ed25519').privateKey;
    const controlPem = String(control.export({ type: 'pkcs8', format: 'pem' }));
    const held = Buffer.concat([Buffer.from(controlPem), control.export({ type: 'pkcs8', format: 'der' })]);
    const found = secretForms(controlPem)
      .filter((form) => held.includes(form.bytes))
      .map((form) => form.name);
    expect(found).toEqual(['PEM body', 'DER', 'seed']);
  });
});
