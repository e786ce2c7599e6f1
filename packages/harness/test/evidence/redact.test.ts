// Secrets never reach the signed pack: query-string secrets and URL passwords (also with '@'
// or '/' in them, raw or URL-encoded) are masked in run records, spans and annotations.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packDir } from '../../src/evidence/layout.ts';
import { redact, redactString } from '../../src/evidence/redact.ts';
import { writeRunRecord } from '../../src/evidence/run-record.ts';
import { sealPack } from '../../src/evidence/seal.ts';
import { keygen, loadPublicKey, loadSigningKey } from '../../src/evidence/sign.ts';
import { writeTraceFiles } from '../../src/evidence/traces.ts';
import { verifyPack } from '../../src/evidence/verify.ts';
import { syntheticRunRecord } from '../support/run-record-fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'drillbook-redact-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** [input, the secret that must go, what must stay]. */
const CASES: Array<[string, string, string]> = [
  ['GET http://127.0.0.1:8080/api?token=tok-AAA111&page=2 failed', 'tok-AAA111', 'http://127.0.0.1:8080/api?token=[redacted]&page=2'],
  ['https://h/cb?ACCESS_TOKEN=tok-BBB222#top', 'tok-BBB222', 'ACCESS_TOKEN=[redacted]#top'],
  ['https://h/x?a=1&Api_Key=key-CCC333', 'key-CCC333', 'Api_Key=[redacted]'],
  ['https://h/x?user=u&password=pw-DDD444&x=1', 'pw-DDD444', 'password=[redacted]&x=1'],
  ['https://h/x?client_secret=sec-EEE555', 'sec-EEE555', 'client_secret=[redacted]'],
  ['https://bucket.s3/x?X-Amz-Signature=sig-FFF666&sig=sig-GGG777', 'sig-FFF666', 'X-Amz-Signature=[redacted]&sig=[redacted]'],
  ['https://bucket.s3/x?X-Amz-Signature=sig-FFF666&sig=sig-GGG777', 'sig-GGG777', 'https://bucket.s3/x?'],
  ['postgres://u:p@ss/w@db.internal:5432/graph', 'p@ss/w', 'postgres://u:[redacted]@db.internal:5432/graph'],
  ['postgres://u:pa%40ss%2Fw@db.internal/graph', 'pa%40ss%2Fw', 'postgres://u:[redacted]@db.internal/graph'],
  ['redirect=https%3A%2F%2Fu%3Ap%40ss%2Fw%40host%2Fdb%3Ftoken%3Denc-HHH888', 'enc-HHH888', 'redirect=https%3A%2F%2Fu%3A[redacted]%40host'],
  ['redirect=https%3A%2F%2Fu%3Apw-III999%40host%2Fdb', 'pw-III999', '%40host%2Fdb'],
  ['retrying with password=pw-JJJ000 in 1s', 'pw-JJJ000', 'password=[redacted] in 1s'],
  ['upstream said {"access_token":"tok-KKK111","ok":true}', 'tok-KKK111', '"access_token":"[redacted]","ok":true'],
  ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.tok-LLL222', 'tok-LLL222', 'Authorization: Bearer [redacted]'],
];

describe('redaction', () => {
  it.each(CASES)('%s', (input, secret, kept) => {
    const out = redactString(input);
    expect(out).not.toContain(secret);
    expect(out).toContain(kept);
  });

  it('leaves what is not a secret alone', () => {
    const plain = ['https://host:8080/path?page=2&sort=asc', 'postgres://drill@127.0.0.1:5432/graph', 'mail a@b.com about https://example.com/x'];
    plain.push('keyboard=qwerty');
    for (const s of plain) expect(redactString(s)).toBe(s);
  });

  it('masks values under secret-looking keys, case-insensitive', () => {
    expect(redact({ Authorization: 'Bearer x', sig: 's', Signature: 't', clientSecret: 'c', nested: [{ PASSWORD: 'p', page: 2 }] })).toEqual({
      Authorization: '[redacted]',
      sig: '[redacted]',
      Signature: '[redacted]',
      clientSecret: '[redacted]',
      nested: [{ PASSWORD: '[redacted]', page: 2 }],
    });
  });

  it('no secret of these cases reaches any file of the signed pack: record, spans, annotations', () => {
    const evidence = join(root, 'evidence');
    const rec = syntheticRunRecord(0);
    const texts = CASES.map(([input]) => input);
    rec.events.push({ t: rec.endedAt - 1, kind: 'step', name: 'note', detail: { lines: texts } });
    rec.facts = { ...rec.facts, urls: texts };
    writeTraceFiles(evidence, 'r1', rec.runId, {
      traceId: undefined,
      spans: texts.map((url, i) => ({
        ...{ traceId: 't'.repeat(32), spanId: String(i).padStart(16, '0'), name: 'GET', service: 'graph-api', kind: 2, startMs: 0, endMs: 1, statusCode: 1 },
        attributes: { 'url.full': url },
      })),
      annotations: [{ time: rec.startedAt, timeEnd: rec.endedAt, tags: ['drill'], text: texts.join('\n') } as never],
    });
    writeRunRecord(evidence, 'r1', rec);
    const keys = keygen(join(root, 'keys'));
    const dir = packDir(evidence, 'r1');
    sealPack(dir, loadSigningKey(keys.privateKeyPath)!);
    expect(verifyPack(dir, { publicKey: loadPublicKey(keys.publicKeyPath) }).problems).toEqual([]);
    const files: string[] = [];
    const walk = (d: string) => readdirSync(d).forEach((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : files.push(join(d, n))));
    walk(dir);
    expect(files.length).toBeGreaterThanOrEqual(5);
    const secrets = [...CASES.map(([, secret]) => secret), 'hunter2'];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const s of secrets) expect(text.includes(s) ? `${s} in ${f}` : '').toBe('');
    }
  });
});
