// Secrets never reach the evidence pack: values under secret-looking keys are replaced,
// and credentials in URLs (postgres://user:pass@host) are masked, wherever they appear.
const SECRET_KEY = /password|passwd|secret|token|authorization|api[-_]?key|private[-_]?key|cookie/i;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+):([^/\s@]+)@/gi;

export const REDACTED = '[redacted]';

export function redactString(s: string): string {
  return s.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
}

export function redact<T>(value: T): T {
  if (typeof value === 'string') return redactString(value) as T;
  if (Array.isArray(value)) return value.map((v) => redact(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined && typeof v !== 'object' ? REDACTED : redact(v);
    return out as T;
  }
  return value;
}
