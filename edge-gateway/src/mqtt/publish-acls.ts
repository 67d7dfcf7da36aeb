// An ACL's publish filters prepared once, then matched against every PUBLISH of its clients. Matching
// `sensors/#` by splitting filter and topic into levels cost a single reading more than anything else
// the broker does for the gateway; prepared, it is one prefix test. A reload of the users file brings
// new ACL objects, prepared when their first client publishes; the old ones go with their clients.
import { topicMatcher } from './topic-filter.js';
import type { Acl } from './users.js';

export class PublishAcls {
  private readonly prepared = new WeakMap<Acl, Array<(topic: string) => boolean>>();

  /** Users.mayPublish(acl, topic), with the ACL's filters prepared on first use. */
  mayPublish(acl: Acl, topic: string): boolean {
    let matchers = this.prepared.get(acl);
    if (matchers === undefined) {
      matchers = acl.publish.map(topicMatcher);
      this.prepared.set(acl, matchers);
    }
    for (const matches of matchers) if (matches(topic)) return true;
    return false;
  }
}
