// An HTTP/1.1 response parser that finds where each response ends and what it said (status,
// bytes, whether the connection stays open) and keeps nothing else: the load runner only
// counts responses, it never reads them. Bodies are skipped by Content-Length, by chunked
// framing or, with neither, by the connection closing (RFC 9112 §6.3). 1xx responses are
// skipped. Pure: bytes in, callbacks out; the socket lives in h1-client.ts.

export interface H1Response {
  status: number;
  /** Bytes of the response on the wire: status line, headers and body. */
  bytes: number;
  /** Whether the connection may carry the next request. */
  keepAlive: boolean;
}

const CR = 13;
const LF = 10;
const MAX_HEAD = 64 * 1024;

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

export class H1ParseError extends Error {}

const isDigit = (s: string, from: number, to: number) => {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return false;
  return true;
};

/** A header's trimmed value in a lower-cased header block (no status line match: names follow a CRLF). */
function headerValue(lower: string, name: string): string | undefined {
  const at = lower.indexOf(`\r\n${name}:`);
  if (at < 0) return undefined;
  const from = at + name.length + 3;
  const end = lower.indexOf('\r\n', from);
  return lower.slice(from, end < 0 ? lower.length : end).trim();
}

export class H1ResponseParser {
  private state = State.Idle;
  private head: Buffer | undefined; // a header block split across reads
  private remaining = 0;
  private line = ''; // a chunk-size or trailer line split across reads
  private status = 0;
  private bytes = 0;
  private keepAlive = true;
  private noBody = false;

  constructor(private readonly done: (r: H1Response) => void) {}

  /** A request was sent: its response is next. `head`: a HEAD request, whose response has no body. */
  expect(head = false): void {
    this.state = State.Head;
    this.noBody = head;
    this.bytes = 0;
    this.head = undefined;
  }

  get busy(): boolean {
    return this.state !== State.Idle;
  }

  /** Feeds bytes read from the socket; throws H1ParseError on what is not HTTP/1.x. */
  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case State.Idle:
          throw new H1ParseError(`${chunk.length - at} bytes arrived with no request outstanding`);
        case State.Head:
          at = this.readHead(chunk, at);
          break;
        case State.Length: {
          const n = Math.min(this.remaining, chunk.length - at);
          this.bytes += n;
          this.remaining -= n;
          at += n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.ChunkSize:
        case State.Trailers:
          at = this.readLine(chunk, at);
          break;
        case State.ChunkData: {
          const n = Math.min(this.remaining, chunk.length - at);
          this.bytes += n;
          this.remaining -= n;
          at += n;
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd;
            this.remaining = 2; // the CRLF after the data
          }
          break;
        }
        case State.ChunkDataEnd: {
          const n = Math.min(this.remaining, chunk.length - at);
          this.bytes += n;
          this.remaining -= n;
          at += n;
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.UntilClose:
          this.bytes += chunk.length - at;
          at = chunk.length;
          break;
      }
    }
  }

  /**
   * The connection closed. A response delimited by the close completes; any other response
   * in progress is cut short (the caller counts it as failed).
   */
  end(): boolean {
    if (this.state === State.UntilClose) {
      this.keepAlive = false;
      this.finish();
      return true;
    }
    return this.state === State.Idle;
  }

  private readHead(chunk: Buffer, at: number): number {
    let buf = chunk;
    let from = at;
    if (this.head) {
      buf = Buffer.concat([this.head, chunk.subarray(at)]);
      from = 0;
    }
    // The blank line ends the header block; search from where an earlier read left off.
    const end = buf.indexOf('\r\n\r\n', Math.max(from, (this.head?.length ?? 0) - 3), 'latin1');
    if (end < 0) {
      if (buf.length - from > MAX_HEAD) throw new H1ParseError(`response header block longer than ${MAX_HEAD} bytes`);
      this.head = Buffer.from(buf.subarray(from));
      return chunk.length;
    }
    const consumedOfChunk = this.head ? end + 4 - this.head.length + at : end + 4;
    this.head = undefined;
    this.bytes += end + 4 - from;
    this.parseHead(buf.toString('latin1', from, end));
    return consumedOfChunk;
  }

  // The three headers that frame a response are looked up in the lower-cased block rather
  // than by splitting it into lines: the header block is parsed once per request.
  private parseHead(text: string): void {
    // 'HTTP/1.x NNN' — checked by character, cheaper than a regular expression per response.
    const minor = text.charCodeAt(7) - 48;
    const status = (text.charCodeAt(9) - 48) * 100 + (text.charCodeAt(10) - 48) * 10 + (text.charCodeAt(11) - 48);
    if (!text.startsWith('HTTP/1.') || (minor !== 0 && minor !== 1) || text.charCodeAt(8) !== 32 || !(status >= 100 && status <= 999) || !isDigit(text, 9, 12))
      throw new H1ParseError(`not an HTTP/1.x status line: '${text.slice(0, 60).split('\r\n')[0]}'`);
    const lower = text.toLowerCase();
    let keepAlive = minor === 1;
    let length = -1;
    const cl = headerValue(lower, 'content-length');
    if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) throw new H1ParseError(`content-length '${cl}' is not a number`);
      length = Number(cl);
    }
    const te = headerValue(lower, 'transfer-encoding');
    const chunked = te !== undefined && /(^|,)\s*chunked$/.test(te);
    const conn = headerValue(lower, 'connection');
    if (conn !== undefined) {
      if (conn.includes('close')) keepAlive = false;
      else if (conn.includes('keep-alive')) keepAlive = true;
    }
    if (status < 200) {
      // Interim (100 Continue, 103 Early Hints): the final response follows on the same connection.
      this.state = State.Head;
      return;
    }
    this.status = status;
    this.keepAlive = keepAlive;
    if (this.noBody || status === 204 || status === 304) return this.finish();
    if (chunked) {
      this.state = State.ChunkSize;
      this.line = '';
    } else if (length >= 0) {
      this.remaining = length;
      if (length === 0) return this.finish();
      this.state = State.Length;
    } else {
      this.state = State.UntilClose;
    }
  }

  /** A chunk-size line, or a trailer line (the empty one ends the response). */
  private readLine(chunk: Buffer, at: number): number {
    const lf = chunk.indexOf(LF, at);
    const stop = lf < 0 ? chunk.length : lf + 1;
    this.bytes += stop - at;
    this.line += chunk.toString('latin1', at, stop);
    if (this.line.length > MAX_HEAD) throw new H1ParseError('chunk-size or trailer line too long');
    if (lf < 0) return stop;
    const line = this.line.charCodeAt(this.line.length - 2) === CR ? this.line.slice(0, -2) : this.line.slice(0, -1);
    this.line = '';
    if (this.state === State.Trailers) {
      if (line === '') this.finish();
      return stop;
    }
    const size = parseInt(line.split(';', 1)[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new H1ParseError(`chunk size '${line.slice(0, 20)}' is not hexadecimal`);
    if (size === 0) this.state = State.Trailers;
    else {
      this.state = State.ChunkData;
      this.remaining = size;
    }
    return stop;
  }

  private finish(): void {
    this.state = State.Idle;
    this.done({ status: this.status, bytes: this.bytes, keepAlive: this.keepAlive });
  }
}
