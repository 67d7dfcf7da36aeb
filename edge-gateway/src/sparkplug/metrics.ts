// The Sparkplug B metrics, on the gateway's registry. Readings are also counted in the gateway's
// reading and reject counters, like those of any other message.
import { Counter, type Registry } from 'prom-client';
import type { RejectReason } from '../ingest/index.js';

/**
 * What became of one Sparkplug message: a BIRTH registered, a DEATH took its node or device
 * offline, a DATA message ingested; or it was skipped (a command or a stale NDEATH: ignored; a DATA
 * or DEATH of a node or device without a birth, or whose births came before the broker connection
 * dropped: no_birth; a DATA without one reading: no_readings;
 * an NBIRTH beyond validation.maxMachines edge nodes: too_many_nodes, a DBIRTH beyond as many
 * devices of its node: too_many_devices; a BIRTH whose machine id another live edge node feeds:
 * machine_id_clash) or refused (bad_topic,
 * too_large, bad_protobuf, or the ingest reason of its readings' first refusal when none was taken).
 */
export type SparkplugOutcome = 'registered' | 'offline' | 'ingested' | 'ignored' | 'no_birth' | 'no_readings' | 'too_many_nodes' | 'too_many_devices' | 'machine_id_clash' | RejectReason;

/** Why a metric of a DATA message became no reading. */
export type SkippedMetricReason = 'unknown_alias' | 'not_numeric' | 'null' | 'clash';

/** Why a Rebirth was requested from an edge node. */
export type RebirthReason = 'seq_gap' | 'no_birth' | 'unknown_alias' | 'reconnect';

export class SparkplugMetrics {
  readonly messages: Counter<'type' | 'outcome'>;
  readonly skippedMetrics: Counter<'reason'>;
  readonly rebirths: Counter<'reason'>;

  constructor(registry: Registry) {
    this.messages = new Counter({
      name: 'pdm_gateway_sparkplug_messages_total',
      help: 'Sparkplug B messages, by message type (NBIRTH, NDATA, DDEATH, …) and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
    this.skippedMetrics = new Counter({
      name: 'pdm_gateway_sparkplug_metrics_skipped_total',
      help: 'Sparkplug B metrics that became no reading: unknown_alias, not_numeric (datatype), null, clash (sensor id of another metric)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.rebirths = new Counter({
      name: 'pdm_gateway_sparkplug_rebirths_requested_total',
      help: 'Rebirth requests (NCMD Node Control/Rebirth) sent to edge nodes, by reason: seq_gap, no_birth, unknown_alias, reconnect (births from before the broker connection dropped)',
      labelNames: ['reason'],
      registers: [registry],
    });
  }
}
