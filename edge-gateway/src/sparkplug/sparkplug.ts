// Sparkplug B (Eclipse Sparkplug 3.0) edge nodes publishing to the gateway. The gateway acts as a
// host application that only listens, except to ask for a Rebirth:
// - NBIRTH / DBIRTH register the metrics of an edge node / device (name, alias, datatype); their
//   values are readings too.
// - NDATA / DDATA metrics are resolved by alias (or name) against the birth; each one of a numeric or
//   Boolean datatype becomes a reading of sensor sparkplugId(metric name) on the machine the
//   device (sparkplug.machineId) or node (sparkplug.nodeMachineId) maps to, at the metric's timestamp
//   (else the payload's, else the gateway's), through Ingest.handleMapped: the same payload limit, id
//   checks, machine limits, validation and counters as every other reading.
// - A machine is fed by one edge node at a time (machine-owners.ts): a birth whose machine a live
//   source of another node feeds is refused (machine_id_clash, logged once), like a birth beyond the
//   node and device limits; the node or device stays unknown, so its data is not ingested. A node's
//   own metrics and its devices may map to one machine (e.g. machineId "{node}" merges its devices).
//   Only a birth declaring a reading metric claims its machine: an NBIRTH of bdSeq and Node Control/*
//   alone feeds none, so it clashes with no other node and its devices can be born.
// - Each message of a node after its NBIRTH carries the next seq (0–255, wrapping). A gap, a DATA from
//   a node or device without a birth, or an unknown alias is answered with a Rebirth request (NCMD
//   "Node Control/Rebirth" = true), at most one per node per sparkplug.rebirthIntervalMs, less often
//   while the node's births are refused (rebirths.ts); the data that can be resolved is ingested
//   meanwhile.
// - When the connection to the broker drops (a bridge upstream), what the edge nodes publish meanwhile
//   is lost: births and data are QoS 0, which a broker does not queue for a session away. A node may
//   have been born again then, with other aliases, and its seq proves nothing: counting from 0 again,
//   it may line up with the one expected. So, as Sparkplug 3.0 has a host hold everything it knew of a
//   broker's nodes stale once it loses that broker, every node's messages after the reconnect are
//   skipped (no_birth) until its next NBIRTH, asked for at the first one (reason reconnect); its NDEATH,
//   queued for the session, still counts. None is decoded with aliases that may be stale.
// - NDEATH (the node's MQTT will, or its clean goodbye) takes the node and all its devices offline,
//   DDEATH one device: the gateway forgets their births and reports offline each machine no live
//   source of the node feeds any more (once), which other nodes may then take at their birth. An
//   NDEATH whose bdSeq is not that of the node's last NBIRTH is a stale will of an earlier connection:
//   ignored.
// Metrics named bdSeq, Node Control/… or Device Control/… are protocol, never readings. Compressed
// payloads (Tahu's uuid SPBV1.0_COMPRESSED) carry their metrics in `body` and yield none here.
import { create, toBinary } from '@bufbuild/protobuf';
import type { Clock } from '@pdm/clock';
import type { Ingest, IngestRejection } from '../ingest/index.js';
import type { LogLimiter, Logger } from '../ops/log.js';
import { EdgeNodes, type EdgeNode, MetricTable, seqAfter } from './births.js';
import { PayloadSchema } from '../gen/sparkplug_b_pb.js';
import { MachineOwners, type Source, sourceName } from './machine-owners.js';
import type { RebirthReason, SkippedMetricReason, SparkplugMetrics, SparkplugOutcome } from './metrics.js';
import { type SparkplugMetric, type SparkplugPayload, decodeSparkplugPayload } from './payload.js';
import { DataType, isReadingType, readingValue } from './reading-value.js';
import { RebirthSchedule } from './rebirths.js';
import type { SparkplugConfig } from './schema.js';
import { sparkplugId } from './sensor-id.js';
import { SPARKPLUG_PREFIX, type SparkplugTopic, nodeCommandTopic, parseSparkplugTopic } from './topic.js';

export interface SparkplugDependencies {
  ingest: Pick<Ingest, 'handleMapped' | 'refuse'>;
  /** validation.maxPayloadBytes: checked before a payload is decoded. */
  maxPayloadBytes: number;
  /** Most edge nodes whose births are kept, and most devices per node (validation.maxMachines). */
  maxNodes: number;
  metrics: SparkplugMetrics;
  /** Spaces Rebirth requests. */
  clock: Pick<Clock, 'now'>;
  /** Sends a message to the edge nodes (a Rebirth request). */
  publish(topic: string, payload: Buffer): void;
  /** A machine whose device or edge node died: no reading of it is to be waited for. */
  offline(machineId: string): void;
  /** A message or reading refused (after it was counted), for the gateway's log and debug topic. */
  rejected(topic: string, payload: Buffer, rejection: IngestRejection): void;
  log: Logger;
  limiter: LogLimiter;
}

const REBIRTH_METRIC = 'Node Control/Rebirth';

/** Protocol metrics (Sparkplug 3.0, 6.4.2 and the Node/Device Control folder): never readings. */
const isControlMetric = (name: string): boolean => name === 'bdSeq' || name.startsWith('Node Control/') || name.startsWith('Device Control/');

/** Whether a metric a birth declares has readings: numeric or Boolean, and no protocol metric. */
const isReadingMetric = (name: string | undefined, datatype: number | undefined): boolean => name !== undefined && !isControlMetric(name) && isReadingType(datatype ?? 0);

/** A machine id format with its placeholders replaced by the source's topic levels, each made an id. */
function formatMachineId(format: string, source: Source): string {
  return format.replace(/\{(group|node|device)\}/g, (_, level: 'group' | 'node' | 'device') => sparkplugId(source[level] ?? ''));
}

/** The name of the edge node of a node or device: Rebirth requests go to nodes. */
const nodeName = ({ group, node }: Source): string => sourceName({ group, node });

/** The config key that maps `source` to its machine, and a format telling it from the edge node `owner`'s. */
function machineIdFix(source: Source, owner: Source): { configKey: string; example: string } {
  // Node ids are unique within their group, device ids within their node.
  if (source.device === undefined) return { configKey: 'sparkplug.nodeMachineId', example: '{group}-{node}' };
  return { configKey: 'sparkplug.machineId', example: source.node === owner.node ? '{group}-{node}-{device}' : '{node}-{device}' };
}

/** The readings a message produced, for its outcome. */
interface Tally {
  accepted: number;
  rejection?: IngestRejection;
}

export class SparkplugIngest {
  private readonly nodes: EdgeNodes;
  private readonly owners = new MachineOwners();
  private readonly rebirths: RebirthSchedule;
  /**
   * The machine id clashes logged (machine, owner, refused source), oldest first, at most maxNodes:
   * each is logged once, not at every birth its source is asked for again.
   */
  private readonly loggedClashes = new Set<string>();

  constructor(
    private readonly config: SparkplugConfig,
    private readonly deps: SparkplugDependencies,
  ) {
    this.nodes = new EdgeNodes(deps.maxNodes);
    this.rebirths = new RebirthSchedule(config.rebirthIntervalMs, deps.maxNodes);
  }

  /** The connection to the broker dropped: every node's births are stale until its next NBIRTH (see the top of the file). */
  connectionLost(): void {
    this.nodes.connectionLost();
  }

  /** Whether a topic is in the Sparkplug B namespace (and so for `handle`). */
  static owns(topic: string): boolean {
    return topic.startsWith(SPARKPLUG_PREFIX);
  }

  /**
   * Handles one message on a spBv1.0/ topic; `publisher` as for Ingest.handleMapped (null: a bridge
   * upstream, not capped per publisher). Never throws.
   */
  handle(topic: string, payload: Buffer, publisher?: string | null): void {
    const parsed = parseSparkplugTopic(topic);
    if (parsed === undefined) {
      // A host application's STATE message is for other host applications.
      if (topic.startsWith(`${SPARKPLUG_PREFIX}STATE/`)) return this.count('STATE', 'ignored');
      return this.refuse('unknown', topic, payload, 'bad_topic', `topic ${topic} is not spBv1.0/{group}/{N|D}{BIRTH|DEATH|DATA|CMD}/{edge node}[/{device}]`);
    }
    const { type } = parsed;
    // Commands are for edge nodes, from host applications.
    if (type === 'NCMD' || type === 'DCMD') return this.count(type, 'ignored');
    if (payload.length > this.deps.maxPayloadBytes) {
      return this.refuse(type, topic, payload, 'too_large', `payload of ${payload.length} bytes exceeds the limit of ${this.deps.maxPayloadBytes}`);
    }
    let decoded: SparkplugPayload;
    try {
      decoded = decodeSparkplugPayload(payload);
    } catch (error) {
      return this.refuse(type, topic, payload, 'bad_protobuf', `payload is not a Sparkplug B payload: ${(error as Error).message}`);
    }
    const message: Message = { topic: parsed, rawTopic: topic, payload, decoded, publisher };
    this.count(type, this.outcomeOf(message));
  }

  private outcomeOf(message: Message): SparkplugOutcome {
    const { topic, decoded } = message;
    if (topic.type === 'NBIRTH') return this.nodeBirth(message);
    const node = this.nodes.get(topic.group, topic.node);
    if (node === undefined) {
      // A death of what the gateway does not know needs no birth: there is nothing to take offline.
      if (topic.type !== 'NDEATH' && topic.type !== 'DDEATH') this.requestRebirth(topic, 'no_birth');
      return 'no_birth';
    }
    if (topic.type === 'NDEATH') return this.nodeDeath(topic, node, decoded);
    if (node.stale) {
      this.requestRebirth(topic, 'reconnect');
      return 'no_birth';
    }
    this.checkSeq(topic, node, decoded.seq);
    if (topic.type === 'DBIRTH') return this.deviceBirth(message, node);
    if (topic.type === 'DDEATH') return this.deviceDeath(topic, node);
    const table = topic.device === undefined ? node.metrics : node.devices.get(topic.device);
    if (table === undefined) {
      this.requestRebirth(topic, 'no_birth');
      return 'no_birth';
    }
    return this.ingested(message, table);
  }

  private nodeBirth(message: Message): SparkplugOutcome {
    const { topic, decoded } = message;
    if (!this.nodes.admits(topic.group, topic.node)) return this.refusedBirth(topic, 'too_many_nodes');
    if (!this.claimed(message)) return this.refusedBirth(topic, 'machine_id_clash');
    const bdSeqMetric = decoded.metrics.find((m) => m.name === 'bdSeq');
    const node = this.nodes.born(topic.group, topic.node, bdSeqMetric && integerOf(bdSeqMetric), decoded.seq ?? 0);
    return this.registered(message, node.metrics);
  }

  private deviceBirth(message: Message, node: EdgeNode): SparkplugOutcome {
    const { topic } = message;
    const device = topic.device!;
    if (!node.devices.has(device) && node.devices.size >= this.deps.maxNodes) return this.refusedBirth(topic, 'too_many_devices');
    if (!this.claimed(message)) return this.refusedBirth(topic, 'machine_id_clash');
    const table = new MetricTable();
    node.devices.set(device, table);
    return this.registered(message, table);
  }

  /** A refused birth: its node or device stays unknown, and its node is asked for Rebirths less often. */
  private refusedBirth(topic: SparkplugTopic, outcome: 'too_many_nodes' | 'too_many_devices' | 'machine_id_clash'): SparkplugOutcome {
    this.rebirths.refused(nodeName(topic));
    return outcome;
  }

  /**
   * Whether a birth may feed the machine its node or device maps to: it declares no reading metric (so
   * it feeds none: an NBIRTH of protocol metrics only), or no other live edge node feeds the machine.
   * A clash is logged with the refused source, the owner node and the config key that would part them.
   */
  private claimed({ topic: source, decoded }: Message): boolean {
    if (!decoded.metrics.some((m) => isReadingMetric(m.name, m.datatype))) return true;
    const machineId = this.machineOf(source);
    const owner = this.owners.claim(machineId, source);
    if (owner === undefined) return true;
    const clash = JSON.stringify([machineId, sourceName(owner), sourceName(source)]);
    if (this.loggedClashes.has(clash)) return false;
    this.loggedClashes.add(clash);
    if (this.loggedClashes.size > this.deps.maxNodes) this.loggedClashes.delete(this.loggedClashes.values().next().value!);
    const { configKey, example } = machineIdFix(source, owner);
    this.deps.log.error(
      { machine: machineId, source: sourceName(source), owner: sourceName(owner), configKey, example },
      `sparkplug: machine id clash, birth refused: its data is not ingested while another edge node feeds the machine; give each its own machine with ${configKey} (e.g. "${example}")`,
    );
    return false;
  }

  private deviceDeath(topic: SparkplugTopic, node: EdgeNode): SparkplugOutcome {
    if (!node.devices.delete(topic.device!)) return 'no_birth';
    this.wentOffline(topic);
    return 'offline';
  }

  private nodeDeath(topic: SparkplugTopic, node: EdgeNode, decoded: SparkplugPayload): SparkplugOutcome {
    const bdSeqMetric = decoded.metrics.find((m) => m.name === 'bdSeq');
    const bdSeq = bdSeqMetric && integerOf(bdSeqMetric);
    // The will of a connection before the node's current one, delivered late.
    if (bdSeq !== undefined && node.bdSeq !== undefined && bdSeq !== node.bdSeq) return 'ignored';
    for (const device of this.nodes.died(topic.group, topic.node)) this.wentOffline({ ...topic, device });
    this.wentOffline(topic);
    return 'offline';
  }

  /**
   * A node or device died: the machine it fed is free, and no reading of it is to be waited for, unless
   * another live source of its node feeds it (machine-owners.ts).
   */
  private wentOffline(source: Source): void {
    const machineId = this.machineOf(source);
    if (this.owners.release(machineId, source)) this.deps.offline(machineId);
  }

  /** A BIRTH: declares its metrics in `table`, then takes their values as readings. */
  private registered(message: Message, table: MetricTable): SparkplugOutcome {
    for (const metric of message.decoded.metrics) {
      if (metric.name !== undefined) table.declare(metric.name, metric.datatype ?? 0, metric.alias);
    }
    this.ingested(message, table);
    return 'registered';
  }

  /** Ingests the reading of each metric `table` resolves; the outcome of a DATA message. */
  private ingested(message: Message, table: MetricTable): SparkplugOutcome {
    const { topic, decoded, rawTopic, payload, publisher } = message;
    const machineId = this.machineOf(topic);
    const tally: Tally = { accepted: 0 };
    let unknownAlias = false;
    for (const metric of decoded.metrics) {
      const born = table.resolve(metric.name, metric.alias);
      if (born === undefined) {
        unknownAlias = true;
        this.skip('unknown_alias', topic, metric.name ?? `alias ${metric.alias}`);
        continue;
      }
      if (isControlMetric(born.name)) continue;
      if (born.sensorId === undefined) {
        this.skip('clash', topic, born.name);
        continue;
      }
      if (metric.isNull) {
        this.skip('null', topic, born.name);
        continue;
      }
      // Read by the DATA's datatype if it has one, but only a metric its birth declared a reading metric
      // has readings: a birth without one claimed no machine for them (see claimed).
      const value = isReadingMetric(born.name, born.datatype) ? readingValue(metric.datatype ?? born.datatype, metric.value) : undefined;
      if (value === undefined) {
        this.skip('not_numeric', topic, born.name);
        continue;
      }
      const ts = metric.timestamp ?? decoded.timestamp;
      const outcome = this.deps.ingest.handleMapped(rawTopic, payload, { machineId, sensorId: born.sensorId }, () => ({ kind: 'single', ts, value }), publisher);
      tally.accepted += outcome.accepted;
      if (outcome.rejection) {
        tally.rejection ??= outcome.rejection;
        this.deps.rejected(rawTopic, payload, outcome.rejection);
      }
    }
    if (unknownAlias) this.requestRebirth(topic, 'unknown_alias');
    if (tally.accepted > 0) return 'ingested';
    return tally.rejection?.reason ?? 'no_readings';
  }

  /** Checks a node's message carries the seq after its previous one; a gap asks for a Rebirth. */
  private checkSeq(topic: SparkplugTopic, node: EdgeNode, seq: number | undefined): void {
    if (seq === node.nextSeq) {
      node.nextSeq = seqAfter(seq);
      return;
    }
    this.deps.limiter.maybe(`sparkplug:seq:${topic.group}/${topic.node}`, (suppressed) =>
      this.deps.log.warn({ group: topic.group, node: topic.node, expected: node.nextSeq, seq, suppressed }, 'sparkplug: sequence gap; requesting a rebirth'),
    );
    if (seq !== undefined) node.nextSeq = seqAfter(seq);
    this.requestRebirth(topic, 'seq_gap');
  }

  /** Publishes NCMD Node Control/Rebirth = true to the node, unless its last one is too recent (rebirths.ts). */
  private requestRebirth(topic: SparkplugTopic, reason: RebirthReason): void {
    const now = this.deps.clock.now();
    if (!this.rebirths.due(nodeName(topic), now)) return;
    this.deps.publish(nodeCommandTopic(topic.group, topic.node), rebirthRequest(now));
    this.deps.metrics.rebirths.inc({ reason });
    this.deps.log.info({ group: topic.group, node: topic.node, reason }, 'sparkplug: rebirth requested');
  }

  private machineOf(source: Source): string {
    return formatMachineId(source.device === undefined ? this.config.nodeMachineId : this.config.machineId, source);
  }

  private skip(reason: SkippedMetricReason, topic: SparkplugTopic, metric: string): void {
    this.deps.metrics.skippedMetrics.inc({ reason });
    this.deps.limiter.maybe(`sparkplug:skip:${reason}`, (suppressed) =>
      this.deps.log.warn({ group: topic.group, node: topic.node, device: topic.device, metric, reason, suppressed }, 'sparkplug: metric skipped'),
    );
  }

  private count(type: string, outcome: SparkplugOutcome): void {
    this.deps.metrics.messages.inc({ type, outcome });
  }

  private refuse(type: string, topic: string, payload: Buffer, reason: 'bad_topic' | 'too_large' | 'bad_protobuf', detail: string): void {
    const outcome = this.deps.ingest.refuse(reason, detail);
    this.count(type, reason);
    this.deps.rejected(topic, payload, outcome.rejection!);
  }
}

interface Message {
  readonly topic: SparkplugTopic;
  readonly rawTopic: string;
  readonly payload: Buffer;
  readonly decoded: SparkplugPayload;
  readonly publisher: string | null | undefined;
}

/** An integer metric's value (bdSeq is an Int64 or UInt64, some nodes send it as an int_value). */
function integerOf(metric: SparkplugMetric): number | undefined {
  return readingValue(metric.value.case === 'int' ? DataType.UInt32 : DataType.UInt64, metric.value);
}

/** The NCMD payload asking an edge node to publish its births again (Sparkplug 3.0, 6.4.2). */
function rebirthRequest(now: number): Buffer {
  const payload = create(PayloadSchema, {
    timestamp: BigInt(now),
    metrics: [{ name: REBIRTH_METRIC, timestamp: BigInt(now), datatype: DataType.Boolean, value: { case: 'booleanValue', value: true } }],
  });
  return Buffer.from(toBinary(PayloadSchema, payload));
}
