// What every model kind's batch scoring takes and gives, so the scorer around it is the same for all kinds.
import type { MachineWindow } from '@pdm/proto';

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
}
