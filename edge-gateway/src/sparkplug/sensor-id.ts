// Sparkplug names (metric names such as "Inputs/Temperature" or "Node Control/Rebirth", device and
// edge node ids) made into gateway ids, which must match [A-Za-z0-9_.-]{1,64}. A name that already is
// one is kept as it is. Otherwise each character outside that set becomes "_" and, so that two names
// differing only there ("Inputs/Temp", "Inputs Temp", "Inputs_Temp") stay two ids, an "_" and the
// first 8 hex digits of the name's SHA-256 are appended; a name too long keeps its first 55
// characters before that suffix. Two changed names share an id only if their hashes' first 32 bits
// agree; a kept name equals a changed name's id only if it is spelt with that very suffix. Either
// clash within one machine is refused at its birth (births.ts), so a sensor never mixes two metrics.
import { createHash } from 'node:crypto';

const VALID_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const SUFFIX_LENGTH = 1 + 8;
const MAX_ID_LENGTH = 64;

export function sparkplugId(name: string): string {
  if (VALID_ID.test(name)) return name;
  const replaced = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, MAX_ID_LENGTH - SUFFIX_LENGTH);
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8);
  return `${replaced}_${hash}`;
}
