// The running-state gates (model/regime.ts) of the models that have one, per machine. Each model version
// keeps its own gate state per machine, like every per-machine state (machine-states.ts), so a shadow
// version is gated by its own gate. But a transient is the machine's, not the model's: a swap of the
// version that scores a machine (a promotion, a rollout, a rollback, a new version loaded) must not end
// its settling. So a version that did not see the machine's previous window takes over from the gate
// state, under any model version, that saw the machine's newest window before this one, when that window
// is newer than the newest this version saw (a fresh state saw none):
//   - the windows still to settle, up to its own settleWindows (it never holds longer after a transient);
//   - the newest window's end and the recent decisions, so a window seen again keeps its first decision.
// Not the state sensors' means: they are in the other gate's sensor order, and that version may no
// longer be loaded to say which sensors they are. So the first window after a swap is never a
// transient, as after any gap. The version serving a window is gated before its shadows, so a shadow
// never takes over from it.
import type { MachineWindow } from '@pdm/proto';
import type { ModelBundle } from '../model/model-bundle.js';
import { gateWindow, initialGateState, stateSensorMeans, type GateState, type HoldReason, type RegimeGate } from '../model/regime.js';
import { MachineStates } from './machine-states.js';

export class RunningStateGates {
  /** Each machine's gate state: the scorer keeps, saves, restores and forgets them. */
  readonly states = new MachineStates<GateState>((g) => g.previousEnd);

  /**
   * The model's running-state gate on this window (null: score it). A window of another size or feature
   * version is left to the contract check, which names the mismatch.
   */
  hold(window: MachineWindow, bundle: ModelBundle): HoldReason | null {
    const { regime, windowMs, featureVersion } = bundle.info;
    if (regime === undefined || window.featureVersion !== featureVersion || Number(window.windowEnd - window.windowStart) !== windowMs) return null;
    const windowEnd = Number(window.windowEnd);
    const state = this.states.of(bundle.info).get(window.siteId, window.machineId, initialGateState);
    // Only after a gap in what this version saw: the lookup goes through every version.
    if (state.previousEnd < windowEnd - windowMs) {
      const newer = this.states.newestBefore(window.siteId, window.machineId, windowEnd);
      if (newer !== undefined && newer.previousEnd > state.previousEnd) Object.assign(state, settlingOf(newer, regime));
    }
    return gateWindow(regime, state, stateSensorMeans(regime, window), windowEnd, windowMs);
  }
}

/** What a version with `gate` takes over of another version's gate state of the same machine (see the top of the file). */
function settlingOf(other: GateState, gate: RegimeGate): GateState {
  return { previous: null, previousEnd: other.previousEnd, settleLeft: Math.min(other.settleLeft, gate.settleWindows), recent: other.recent.map((r) => ({ ...r })) };
}
