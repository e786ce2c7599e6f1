// What every receiver of the harness does with a request before its protocol handler sees
// it: check a bearer token in constant time, and read the body within a size and a time
// limit, decompressing gzip/deflate in zlib's thread pool with a cap on the DECODED size,
// so a small compressed bomb is refused after a few megabytes instead of freezing the loop.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';

/** A request refused with an HTTP status; the message is sent as the response body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface BodyLimits {
  /** Bytes on the wire (compressed, when it is). */
  maxBytes: number;
  /** Bytes after decompression. */
  maxDecodedBytes: number;
  /** The whole body must have arrived within this time. */
  timeoutMs: number;
}

/** A fresh per-run secret: 32 random bytes, hex. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/**
 * Constant-time comparison of a presented token with the expected one. Both are hashed
 * first so the comparison does not leak the expected length either.
 */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined || expected === '') return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const ENCODINGS = ['identity', 'gzip', 'x-gzip', 'deflate'] as const;

/**
 * Reads a request body within `limits`. Decompression streams through zlib (which works
 * off the event loop) and stops as soon as the decoded size passes the limit. Rejects with
 * an HttpError: 413 too large, 408 too slow, 415 unknown encoding, 400 corrupt or aborted.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (!(ENCODINGS as readonly string[]).includes(encoding)) {
      reject(new HttpError(415, `unsupported content-encoding '${encoding}': send identity, gzip or deflate`));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limits.maxBytes) {
      reject(new HttpError(413, `body of ${declared} bytes is over the limit of ${limits.maxBytes}`));
      return;
    }
    const gzip = encoding === 'gzip' || encoding === 'x-gzip';
    const decoder: Gunzip | Inflate | undefined = gzip ? createGunzip() : encoding === 'deflate' ? createInflate() : undefined;
    const parts: Buffer[] = [];
    let raw = 0;
    let decoded = 0;
    let settled = false;

    const finish = (err?: HttpError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      if (decoder) decoder.destroy();
      if (err) {
        parts.length = 0;
        reject(err);
      } else resolve(Buffer.concat(parts, decoded));
    };
    const collect = (chunk: Buffer) => {
      decoded += chunk.length;
      if (decoded > limits.maxDecodedBytes) finish(new HttpError(413, `decoded body is over the limit of ${limits.maxDecodedBytes} bytes`));
      else parts.push(chunk);
    };
    const onData = (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > limits.maxBytes) return finish(new HttpError(413, `body is over the limit of ${limits.maxBytes} bytes`));
      if (!decoder) return collect(chunk);
      // Backpressure: let zlib catch up before reading more from the socket.
      if (!decoder.write(chunk)) {
        req.pause();
        decoder.once('drain', () => !settled && req.resume());
      }
    };
    const onEnd = () => (decoder ? decoder.end() : finish());
    const timer = setTimeout(() => finish(new HttpError(408, `the body did not arrive within ${limits.timeoutMs} ms`)), limits.timeoutMs);

    if (decoder) {
      decoder.on('data', collect);
      decoder.on('end', () => finish());
      decoder.on('error', (e) => finish(new HttpError(400, `could not decode the ${encoding} body: ${e.message}`)));
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', (e) => finish(new HttpError(400, `the request broke off: ${e.message}`)));
    req.on('aborted', () => finish(new HttpError(400, 'the request broke off')));
  });
}

/**
 * Answers a refused request and closes its connection: the rest of an oversized body is
 * not read, and a keep-alive connection carrying it is not reused.
 */
export function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...headers, 'content-type': 'text/plain', connection: 'close' }).end(message);
}
