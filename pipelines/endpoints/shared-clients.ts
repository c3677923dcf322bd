// One EndpointClient per (run signal, store, endpoint config), so every record of a run shares the
// same queue, rate limits and counters, while a new run (a new signal) starts fresh.
import type { Logger } from 'pino';
import { canonicalJson } from '../fingerprint.ts';
import type { Store } from '../store/store.ts';
import { EndpointClient } from './endpoint-client.ts';
import type { EndpointConfigInput } from './endpoint-config.ts';

const clients = new WeakMap<AbortSignal, WeakMap<Store, Map<string, EndpointClient>>>();

export interface SharedClientContext {
  readonly store: Store;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** The run's client for this endpoint config; `label` names the config's YAML path in messages. */
export function sharedEndpointClient(config: EndpointConfigInput, context: SharedClientContext, label = 'endpoint'): EndpointClient {
  let byStore = clients.get(context.signal);
  if (!byStore) clients.set(context.signal, (byStore = new WeakMap()));
  let byConfig = byStore.get(context.store);
  if (!byConfig) byStore.set(context.store, (byConfig = new Map()));
  const key = `${label}:${canonicalJson(config)}`;
  let client = byConfig.get(key);
  if (!client) {
    client = new EndpointClient({ config, store: context.store, log: context.log, signal: context.signal, label });
    byConfig.set(key, client);
  }
  return client;
}
