// Does a URL answer? One bounded request, used by preflight, the end-of-run health check and `drill doctor`.

const TIMEOUT_MS = 5_000;

/**
 * Why `url` does not answer (a connection error code, or `HTTP <status>` when `requireOk` and the
 * answer is not 2xx), or undefined when it does. Any answer counts as reachable by default.
 */
export async function reachable(url: string, opts: { headers?: Record<string, string>; requireOk?: boolean } = {}): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual', ...(opts.headers ? { headers: opts.headers } : {}) });
    await res.body?.cancel();
    return opts.requireOk && !res.ok ? `HTTP ${res.status}` : undefined;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (err as Error).message;
  }
}
