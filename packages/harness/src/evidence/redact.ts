// Secrets never reach the evidence pack: values under secret-looking keys are replaced, and
// wherever they appear in strings, URL passwords (postgres://user:pass@host, also with '@' or
// '/' in the password, raw or URL-encoded), secret query parameters (?token=, &api_key=, sig=…)
// and bearer/basic credentials are masked. Over-masking is preferred to a leak.
const SECRET_KEY = /password|passwd|secret|token|authorization|api[-_]?key|private[-_]?key|cookie|credential|^sig$|signature|^pwd$/i;

export const REDACTED = '[redacted]';

/** Query/form parameter names whose values are secrets (case-insensitive, whole name or suffix). */
const SECRET_PARAM = '(?:[A-Za-z0-9_.-]*(?:token|apikey|[-_]key|passw(?:or)?d|pwd|pass|secret|sig|signature|credentials?|session[-_]?id|auth)|key)';

// Userinfo with a password: scheme://user:pass@ — the password runs to the LAST '@' of the
// URL-ish run (no spaces or quotes), so a raw '@' or '/' inside it is covered too.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@"'<>]*):([^\s"'<>]*)@(?=[^\s"'<>@]*(?:[\s"'<>]|$))/gi;
// The same, URL-encoded (a URL inside a query parameter): scheme%3A%2F%2Fuser%3Apass%40host.
const URL_PASSWORD_ENCODED = /\b([a-z][a-z0-9+.-]*%3A%2F%2F)([^\s/:@%"'<>&]*)%3A([^\s"'<>&]*)%40(?=(?:(?!%40)[^\s"'<>&])*(?:[\s"'<>&]|$))/gi;
// name=value after ?, &, ; or a word start; raw or URL-encoded separators (%3F ? · %26 & · %3D =).
const QUERY_SECRET = new RegExp(`(^|[?&;\\s"'(,]|%3F|%26)(${SECRET_PARAM})(=|%3D)((?:(?!%26)[^&#\\s"'<>;,)])*)`, 'gi');
// JSON written into a string ("{\"token\":\"abc\"}" in a log line or an error body).
const JSON_SECRET = new RegExp(`("${SECRET_PARAM}"\\s*:\\s*")((?:[^"\\\\]|\\\\.)*)"`, 'gi');
// Authorization header values written into text.
const AUTH_SCHEME = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/g;

export function redactString(s: string): string {
  return s
    .replace(URL_PASSWORD, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
    .replace(URL_PASSWORD_ENCODED, (_m, scheme: string, user: string) => `${scheme}${user}%3A${REDACTED}%40`)
    .replace(QUERY_SECRET, (_m, sep: string, name: string, eq: string, value: string) => (value ? `${sep}${name}${eq}${REDACTED}` : `${sep}${name}${eq}`))
    .replace(JSON_SECRET, (_m, head: string) => `${head}${REDACTED}"`)
    .replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`);
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
