// The service's web page: walks ingest → resolve → report through the API, with stable
// element ids for browser journeys, and reports to a Faro collector when one is configured.
const sample = JSON.stringify(
  {
    entities: [
      { kind: 'person', name: 'José Núñez' },
      { kind: 'person', name: '  jose nunez ' },
      { kind: 'org', name: 'Acme Ltd' },
    ],
    edges: [{ from: 0, to: 2, kind: 'works_for' }],
  },
  null,
  2,
);

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON for inside a <script> element: no '<' that could close it early. */
const scriptJson = (v: unknown) => String(JSON.stringify(v)).replace(/</g, '\\u003c');

export function renderPage(opts: { faroUrl?: string; faroHeaders?: Record<string, string>; replica: string }): string {
  // With headers (the collector's token) the transport is built here: initializeFaro's `url`
  // shortcut makes one without request options.
  const transport =
    opts.faroHeaders && Object.keys(opts.faroHeaders).length
      ? `transports: [new GrafanaFaroWebSdk.FetchTransport({ url: ${scriptJson(opts.faroUrl)}, requestOptions: { headers: ${scriptJson(opts.faroHeaders)} } })],`
      : `url: ${scriptJson(opts.faroUrl)},`;
  const faro = opts.faroUrl
    ? `<script src="/faro.js"></script>
<script>
  window.faro = GrafanaFaroWebSdk.initializeFaro({
    ${transport}
    app: { name: 'graph-api', version: '0.1.0', environment: 'local' },
  });
</script>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>graph-api</title>
${faro}
<style>body{font-family:sans-serif;max-width:50rem;margin:2rem auto}textarea{width:100%;height:12rem}pre{background:#f4f4f4;padding:.5rem}</style>
</head>
<body>
<h1>graph-api</h1>
<p>Served by <span id="replica">${escape(opts.replica)}</span>.</p>
<textarea id="entities">${escape(sample)}</textarea>
<p>
  <button id="ingest">Ingest</button>
  <button id="resolve" disabled>Resolve</button>
  <button id="report" disabled>Report</button>
</p>
<p>Case: <span id="case-id"></span> · Status: <span id="status">idle</span></p>
<p>Clusters: <span id="cluster-count"></span></p>
<pre id="clusters"></pre>
<pre id="report-output"></pre>
<script>
  const $ = (id) => document.getElementById(id);
  let caseId;
  async function call(method, path, body) {
    $('status').textContent = method + ' ' + path + ' …';
    const res = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const data = await res.json().catch(() => ({}));
    $('status').textContent = method + ' ' + path + ' → ' + res.status;
    if (!res.ok) throw new Error(method + ' ' + path + ' answered ' + res.status);
    return data;
  }
  $('ingest').onclick = async () => {
    const data = await call('POST', '/ingest', JSON.parse($('entities').value));
    caseId = data.caseId;
    $('case-id').textContent = caseId;
    $('resolve').disabled = false;
  };
  $('resolve').onclick = async () => {
    const data = await call('POST', '/resolve', { caseId });
    $('cluster-count').textContent = String(data.clusters.length);
    $('clusters').textContent = JSON.stringify(data.clusters, null, 2);
    $('report').disabled = false;
  };
  $('report').onclick = async () => {
    const data = await call('GET', '/report/' + encodeURIComponent(caseId));
    $('report-output').textContent = JSON.stringify(data, null, 2);
  };
</script>
</body>
</html>`;
}
