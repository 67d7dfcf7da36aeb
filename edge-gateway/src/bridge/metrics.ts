// The bridge's own metrics, on the gateway's registry, labelled by upstream. Readings it ingests are
// also counted in the gateway's reading and reject counters, like those of the embedded broker.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RejectReason } from '../ingest/index.js';

/**
 * What became of one message from an upstream: ingested, skipped (a retained message replayed at
 * subscription, a repeat of a message already ingested, a topic no template matches), handed to
 * Sparkplug B (whose metrics say what became of it), or refused with an ingest reason.
 */
export type BridgeOutcome = 'ingested' | 'retained' | 'redelivered' | 'unmatched' | 'sparkplug' | RejectReason;

export class BridgeMetrics {
  readonly messages: Counter<'upstream' | 'outcome'>;
  readonly connected: Gauge<'upstream'>;
  readonly connects: Counter<'upstream'>;

  constructor(registry: Registry) {
    this.messages = new Counter({
      name: 'pdm_gateway_bridge_messages_total',
      help: 'Messages received from upstream brokers, by upstream and outcome (ingested, retained, redelivered, unmatched, sparkplug, or the ingest reject reason)',
      labelNames: ['upstream', 'outcome'],
      registers: [registry],
    });
    this.connected = new Gauge({
      name: 'pdm_gateway_bridge_connected',
      help: 'Whether the bridge is connected to the upstream broker and subscribed (1) or not (0)',
      labelNames: ['upstream'],
      registers: [registry],
    });
    this.connects = new Counter({
      name: 'pdm_gateway_bridge_connects_total',
      help: 'Connections made to the upstream broker (the first and every reconnection)',
      labelNames: ['upstream'],
      registers: [registry],
    });
  }
}
