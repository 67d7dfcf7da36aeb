// Remembers whether an ACL lets a client publish on a topic. Devices publish on the same few topics
// over and over, and matching every filter of the ACL again (splitting filter and topic into levels)
// costs a single reading more than anything else the broker does for the gateway. The answer per
// ACL and topic never changes: a reload of the users file brings new ACL objects, which start with
// no answers (the old ones are dropped with them). Each ACL's answers empty at a bound, so a flood of
// distinct topics cannot grow them.
import { type Acl, Users } from './users.js';

export class PublishDecisions {
  private readonly byAcl = new WeakMap<Acl, Map<string, boolean>>();

  constructor(private readonly maxTopicsPerAcl = 100_000) {}

  /** Users.mayPublish(acl, topic), remembered. */
  mayPublish(acl: Acl, topic: string): boolean {
    let decisions = this.byAcl.get(acl);
    if (decisions === undefined) {
      decisions = new Map();
      this.byAcl.set(acl, decisions);
    }
    let allowed = decisions.get(topic);
    if (allowed === undefined) {
      allowed = Users.mayPublish(acl, topic);
      if (decisions.size >= this.maxTopicsPerAcl) decisions.clear();
      decisions.set(topic, allowed);
    }
    return allowed;
  }
}
