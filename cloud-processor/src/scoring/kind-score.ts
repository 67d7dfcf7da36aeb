// What every model kind's batch scoring takes and gives, so the scorer around it is the same for all kinds.
import type { MachineWindow } from '@pdm/proto';
import type { ModelKind } from '../model/artifact-schemas.js';

export interface BatchItem {
  window: MachineWindow;
  /** The window's features in contract order. */
  raw: Float64Array;
}

export interface KindScore {
  score: number;
  /** score > threshold is anomalous. */
  threshold: number;
  /** Per contract sensor (layout.sensors order), its share of the score. */
  shares: Float64Array;
  /** Set: the model is still learning this machine's level from the window (robust-t2): held, not decided. */
  calibrating?: true;
  /** A combined model's members, in contract order: each one's own score, threshold and shares (on the combined model's sensors). */
  members?: MemberScore[];
}

export interface MemberScore {
  kind: ModelKind;
  score: number;
  threshold: number;
  shares: Float64Array;
}
