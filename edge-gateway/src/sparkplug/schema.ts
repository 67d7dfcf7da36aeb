// The gateway's Sparkplug B configuration (key `sparkplug`).
import { durationMs } from '@pdm/config';
import { z } from 'zod';

/** A machine id format: [A-Za-z0-9_.-] text and the topic's {group}, {node} and, for devices, {device}. */
const idFormat = (placeholders: readonly string[]) => {
  const part = `[A-Za-z0-9_.-]|${placeholders.map((p) => `\\{${p}\\}`).join('|')}`;
  return z.string().regex(new RegExp(`^(?:${part})+$`), `must be [A-Za-z0-9_.-] text and the placeholders ${placeholders.map((p) => `{${p}}`).join(', ')}`);
};

export const sparkplugSchema = z
  .object({
    /**
     * The machine id of a device's readings (DDATA): composed of {group}, {node}, {device} and text,
     * e.g. "{node}-{device}" when device ids repeat across edge nodes, or "{node}" for one machine per
     * edge node (its devices merged). Each placeholder is replaced by its topic level made an id
     * (sensor-id.ts).
     */
    machineId: idFormat(['group', 'node', 'device']).default('{device}'),
    /** The machine id of an edge node's own readings (NDATA): {group}, {node} and text. */
    nodeMachineId: idFormat(['group', 'node']).default('{node}'),
    /** The least time between two Rebirth requests (NCMD) to one edge node. */
    rebirthIntervalMs: durationMs().pipe(z.number().int().positive()).default(10_000),
  })
  .strict();

export type SparkplugConfig = z.infer<typeof sparkplugSchema>;
