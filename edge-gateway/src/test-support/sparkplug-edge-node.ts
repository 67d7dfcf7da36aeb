// What a Sparkplug B edge node application does (Eclipse Tahu's): its births at connect, and again
// whenever a host asks with NCMD `Node Control/Rebirth`.
import type { UPayload, newClient } from 'sparkplug-client';

/** Publishes births at each connect and at each Rebirth request, which is kept in `requests`. */
export function answerRebirths(edgeNode: ReturnType<typeof newClient>, publishBirths: () => void, requests: UPayload[]): void {
  edgeNode.on('birth', publishBirths);
  edgeNode.on('ncmd', (payload) => {
    if (payload.metrics?.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) {
      requests.push(payload);
      publishBirths();
    }
  });
}
