// An ACL's publish filters prepared once, then matched against every PUBLISH of its clients. Matching
// `sensors/#` by splitting filter and topic into levels cost a single reading more than anything else
// the broker does for the gateway; prepared, it is one prefix test. The broker prepares a client's
// ACL when it connects and keeps it with the client, so a PUBLISH costs no lookup of user or ACL;
// a reload of the users file brings new ACL objects, met by the next connections.
import { topicMatcher } from './topic-filter.js';
import type { Acl } from './users.js';

/** Users.mayPublish(acl, ·), with the ACL's filters prepared once. */
export function publishMatcher(acl: Acl): (topic: string) => boolean {
  const matchers = acl.publish.map(topicMatcher);
  return (topic) => {
    for (const matches of matchers) if (matches(topic)) return true;
    return false;
  };
}
