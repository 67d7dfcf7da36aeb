// Machine ids are unique within a site only (two sites may both have a pump-1): whatever the processor
// keeps per machine — revisions, the order of its windows, scorer and alert state — is keyed by both.

export interface MachineRef {
  readonly siteId: string;
  readonly machineId: string;
}

/** `site/machine`: one key per machine across sites. */
export const machineKey = (machine: MachineRef): string => `${machine.siteId}/${machine.machineId}`;
