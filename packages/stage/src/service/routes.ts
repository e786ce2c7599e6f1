// The service's route table as data: the same templates name metrics (`route` label),
// span names ("POST /ingest") and the routes TRACING_DISABLED_ROUTES can switch off.
export const ROUTES = [
  { method: 'GET', template: '/' },
  { method: 'GET', template: '/faro.js' },
  { method: 'GET', template: '/healthz' },
  { method: 'GET', template: '/readyz' },
  { method: 'GET', template: '/metrics' },
  { method: 'POST', template: '/ingest' },
  { method: 'POST', template: '/resolve' },
  { method: 'POST', template: '/runbook/:id/run' },
  { method: 'GET', template: '/report/:id' },
] as const;

export type Route = (typeof ROUTES)[number];

export interface Match {
  route: Route;
  params: Record<string, string>;
}

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    if (t[i]!.startsWith(':')) {
      if (!p[i]) return undefined;
      params[t[i]!.slice(1)] = decodeURIComponent(p[i]!);
    } else if (t[i] !== p[i]) return undefined;
  }
  return params;
}

/** Finds the route for a method and URL path (query string ignored). */
export function matchRoute(method: string, url: string): Match | undefined {
  const path = url.split('?')[0]!;
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const params = matchTemplate(route.template, path);
    if (params) return { route, params };
  }
  return undefined;
}

/** Whether any route with this path exists for another method (405 rather than 404). */
export function pathKnown(url: string): boolean {
  const path = url.split('?')[0]!;
  return ROUTES.some((r) => matchTemplate(r.template, path) !== undefined);
}

export const routeName = (r: Route): string => `${r.method} ${r.template}`;
