// The few calls the simulated API server makes to the local stage's control API (bearer
// token, loopback, bounded in time): what runs (replicas, components), the fault proxies and
// the database's stop/crash/start.
import type { ComponentStatus, ReplicaInfo } from '../host/control.ts';
import type { ProxyEffects } from '../fault-proxy.ts';
import type { BasicAuth } from '../secrets.ts';
import type { StageUrls } from '../state.ts';

/** What the simulation needs of a started stage: `startStage()`'s handle has it. */
export interface SimStageHandle {
  urls: StageUrls;
  controlToken: string;
  auth: { prometheus: BasicAuth; alertmanager: BasicAuth };
}

export class StageControl {
  constructor(
    private readonly stage: SimStageHandle,
    private readonly timeoutMs = 5_000,
  ) {}

  private async call(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<unknown> {
    const res = await fetch(new URL(path, this.stage.urls.control), {
      method,
      headers: { authorization: `Bearer ${this.stage.controlToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`stage control API ${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  }

  replicas = () => this.call('GET', '/replicas') as Promise<ReplicaInfo[]>;
  status = () => this.call('GET', '/status') as Promise<ComponentStatus[]>;
  setProxy = (name: string, effects: ProxyEffects) => this.call('PUT', `/proxies/${encodeURIComponent(name)}`, effects).then(() => {});
  clearProxy = (name: string) => this.call('DELETE', `/proxies/${encodeURIComponent(name)}`).then(() => {});
  // PostgreSQL's stop and start wait for it (up to 30 s on the host's side).
  stopDatabase = () => this.call('POST', '/db/stop', undefined, 60_000).then(() => {});
  crashDatabase = () => this.call('POST', '/db/crash', undefined, 60_000).then(() => {});
  startDatabase = () => this.call('POST', '/db/start', undefined, 60_000).then(() => {});
}
