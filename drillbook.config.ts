// Where drills may run (deny by default) and where evidence goes.
import { defineConfig } from '@drillbook/harness';

export default defineConfig({
  evidenceDir: 'evidence-pack',
  environments: {
    // The embedded stage this repository starts on loopback: the default everywhere.
    local: { kind: 'local', stage: { replicas: 2, restartDelay: '5s', scrapeInterval: '1s', archiveTimeout: '5s' } },
    // The same drills against the team's Kubernetes stage (Chaos Mesh, k6-operator, Tempo).
    stage: {
      kind: 'kubernetes',
      context: 'stage',
      namespaces: ['intelgraph'],
      prometheus: 'http://prometheus.monitoring:9090',
      traces: { tempo: 'http://tempo.monitoring:3200' },
      targets: {
        api: { selector: { app: 'graph-api' }, namespace: 'intelgraph', url: 'https://stage.example/api' },
        // SQL probes and migrations need the database itself: a port-forward or an in-cluster address.
        db: { selector: { app: 'graph-db' }, namespace: 'intelgraph', url: 'postgres://drill@graph-db.intelgraph:5432/graph' },
      },
      load: { k6Operator: { namespace: 'intelgraph' } },
    },
    // The same stage played on this machine by the simulated Kubernetes API server in front of the
    // local stage's real processes (`npx drill sim up` starts it and writes this kubeconfig). What
    // it proves and what it cannot: docs/kubernetes.md.
    sim: {
      kind: 'kubernetes',
      kubeconfig: '.drillbook/sim/kubeconfig',
      context: 'sim',
      namespaces: ['intelgraph'],
      prometheus: { service: 'monitoring/prometheus:9090' },
      alertmanager: { service: 'monitoring/alertmanager:9093' },
      // The cluster's Alertmanager delivers here (drill sim up writes the token): alert-driven rollbacks work.
      alertWebhook: { port: 9793, tokenFile: '.drillbook/sim/alert-webhook.token' },
      traces: { tempo: { service: 'monitoring/tempo:3200' } },
      targets: {
        // No url: HTTP goes through the API server's pod proxy to a ready pod, as a port-forward would.
        api: { selector: { app: 'graph-api' }, namespace: 'intelgraph', port: 'http' },
        // SQL probes and migrations read the database's URL from a Secret, as a team keeps its credentials.
        db: { selector: { app: 'graph-db' }, namespace: 'intelgraph', url: { secret: 'graph-db-drill', key: 'url' } },
      },
    },
  },
});
