// What the gateway knows of each edge node from its birth certificates: per node and per device, the
// metrics its NBIRTH/DBIRTH declared (name, alias, datatype) with the sensor id each becomes, the
// node's bdSeq (to tell its own NDEATH from a stale one) and the seq its next message must carry. A
// node or device is alive from its birth until its death (DDEATH, or its node's NDEATH). Births that
// came through a broker connection that dropped since are stale: kept (the node still feeds its
// machines), but no longer trusted to decode its data.
import { sparkplugId } from './sensor-id.js';

/** A metric a birth declared. */
export interface BornMetric {
  readonly name: string;
  readonly datatype: number;
  /** The sensor its values are readings of; undefined when another metric of its table has that id. */
  readonly sensorId: string | undefined;
}

/** The metrics of one node or device, by name and by alias. */
export class MetricTable {
  private readonly byName = new Map<string, BornMetric>();
  private readonly byAlias = new Map<number, BornMetric>();
  private readonly sensorIds = new Map<string, string>();

  /**
   * Declares a metric. One whose sensor id is already another metric's (a clash the id rule makes all
   * but impossible, see sensor-id.ts) is known, so its data asks for no rebirth, but has no sensor.
   */
  declare(name: string, datatype: number, alias: number | undefined): void {
    const id = sparkplugId(name);
    const holder = this.sensorIds.get(id);
    const sensorId = holder === undefined || holder === name ? id : undefined;
    if (sensorId !== undefined) this.sensorIds.set(sensorId, name);
    const metric: BornMetric = { name, datatype, sensorId };
    this.byName.set(name, metric);
    if (alias !== undefined) this.byAlias.set(alias, metric);
  }

  /** The metric a DATA message's metric refers to: by alias when it carries one, else by name. */
  resolve(name: string | undefined, alias: number | undefined): BornMetric | undefined {
    return alias !== undefined ? this.byAlias.get(alias) : name === undefined ? undefined : this.byName.get(name);
  }
}

export interface EdgeNode {
  /** The bdSeq metric of its NBIRTH: its NDEATH (its MQTT will) carries the same. */
  readonly bdSeq: number | undefined;
  /** The seq the node's next message must carry (0–255, wrapping). */
  nextSeq: number;
  /** The connection its NBIRTH came through dropped since: it may have been born again, with other aliases, meanwhile. */
  stale: boolean;
  readonly metrics: MetricTable;
  /**
   * Its devices alive, by device id: each with the metrics of its DBIRTH since the node's NBIRTH, or
   * undefined while it waits for that DBIRTH (a new NBIRTH is no death of its devices).
   */
  readonly devices: Map<string, MetricTable | undefined>;
}

/** The seq after `seq`: Sparkplug sequence numbers count 0 to 255 and wrap. */
export const seqAfter = (seq: number): number => (seq + 1) % 256;

/** Edge nodes by group and node id, at most `maxNodes` of them. */
export class EdgeNodes {
  private readonly nodes = new Map<string, EdgeNode>();

  constructor(private readonly maxNodes: number) {}

  private static key(group: string, node: string): string {
    return `${group}/${node}`;
  }

  get(group: string, node: string): EdgeNode | undefined {
    return this.nodes.get(EdgeNodes.key(group, node));
  }

  /** Whether an NBIRTH of the node is within maxNodes: the node is known, or fewer are. */
  admits(group: string, node: string): boolean {
    return this.nodes.has(EdgeNodes.key(group, node)) || this.nodes.size < this.maxNodes;
  }

  /** An NBIRTH the node `admits`: it starts over, its devices' metrics unknown until their DBIRTH. */
  born(group: string, node: string, bdSeq: number | undefined, seq: number): EdgeNode {
    const key = EdgeNodes.key(group, node);
    const devices = new Map<string, MetricTable | undefined>();
    for (const device of this.nodes.get(key)?.devices.keys() ?? []) devices.set(device, undefined);
    const state: EdgeNode = { bdSeq, nextSeq: seqAfter(seq), stale: false, metrics: new MetricTable(), devices };
    this.nodes.set(key, state);
    return state;
  }

  /** The connection to the broker dropped: every node's births are stale until its next NBIRTH. */
  connectionLost(): void {
    for (const node of this.nodes.values()) node.stale = true;
  }

  /** An NDEATH: the node and its devices are forgotten; its device ids are returned. */
  died(group: string, node: string): string[] {
    const key = EdgeNodes.key(group, node);
    const devices = [...(this.nodes.get(key)?.devices.keys() ?? [])];
    this.nodes.delete(key);
    return devices;
  }
}
