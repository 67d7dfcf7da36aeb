// MQTT 3.1.1 topic filters for ACLs (section 4.7): `+` matches exactly one level (an empty one
// included), `#` matches the parent level and every level below it, and a filter starting with a
// wildcard never matches a topic starting with `$` [MQTT-4.7.2-1].

/** Why `filter` is not a valid MQTT topic filter, or undefined when it is one. */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'it is empty';
  if (filter.includes('\u0000')) return 'it contains a NUL character';
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return '"#" must be a whole level and the last one';
    if (level.includes('+') && level !== '+') return '"+" must be a whole level';
  }
  return undefined;
}

const isWildcard = (level: string | undefined) => level === '+' || level === '#';

/** Whether `filter` matches the topic name `topic`. */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  if (topic.startsWith('$') && isWildcard(filterLevels[0])) return false;
  for (const [i, level] of filterLevels.entries()) {
    if (level === '#') return i === filterLevels.length - 1;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

/**
 * topicMatches(filter, ·), prepared once for a filter that is checked against many topics (an ACL
 * against every PUBLISH). A filter without `+` — `sensors/#`, `sensors/press-1/#`, a plain topic —
 * becomes a prefix or equality test that splits and allocates nothing; one with `+` matches level by
 * level. `filter` is assumed valid (topicFilterProblem).
 */
export function topicMatcher(filter: string): (topic: string) => boolean {
  if (filter.includes('+')) return (topic) => topicMatches(filter, topic);
  // A filter starting with a wildcard matches no topic starting with "$" [MQTT-4.7.2-1].
  if (filter === '#') return (topic) => !topic.startsWith('$');
  if (filter.endsWith('/#')) {
    // "sport/#" matches "sport" itself and everything below "sport/".
    const parent = filter.slice(0, -2);
    const below = `${parent}/`;
    return (topic) => topic.startsWith(below) || topic === parent;
  }
  return (topic) => topic === filter;
}

/**
 * Whether every topic the filter `requested` can match is matched by the filter `granted`: a
 * subscription ACL compares a filter with a filter, not with a topic (`alerts/+` does not grant
 * `alerts/#`). Both filters are assumed valid (topicFilterProblem).
 */
export function filterCovers(granted: string, requested: string): boolean {
  const grantedLevels = granted.split('/');
  const requestedLevels = requested.split('/');
  // A wildcard first level grants no `$` topic, and a requested literal first level starting with `$` asks for them.
  if (isWildcard(grantedLevels[0]) && requested.startsWith('$')) return false;
  for (const [i, grantedLevel] of grantedLevels.entries()) {
    // `#` matches the parent level and anything below: whatever `requested` has from here on.
    if (grantedLevel === '#') return true;
    const requestedLevel = requestedLevels[i];
    // `requested` ended (its topics are shorter) or asks for any depth from here: `granted` has no `#` to match them.
    if (requestedLevel === undefined || requestedLevel === '#') return false;
    if (grantedLevel !== '+' && grantedLevel !== requestedLevel) return false;
  }
  return grantedLevels.length === requestedLevels.length;
}
