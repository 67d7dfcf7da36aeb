// Prepared ACLs answer as Users.mayPublish does, per ACL.
import { describe, expect, it } from 'vitest';
import { publishMatcher } from './publish-acls.js';
import { Users } from './users.js';

const press1 = { publish: ['sensors/press-1/#', 'sensors/+/status'], subscribe: [] };
const everything = { publish: ['sensors/#'], subscribe: [] };
const nothing = { publish: [], subscribe: [] };

describe('prepared publish ACLs', () => {
  it('answer as the ACL does, for each ACL apart, the first time and every time after', () => {
    const topics = ['sensors/press-1/temp', 'sensors/press-2/temp', 'sensors/press-2/status', 'sensors/press-1/temp/pb', 'sensors', 'alerts/x', '$SYS/x'];
    const prepared = [press1, everything, nothing].map((acl) => [acl, publishMatcher(acl)] as const);
    for (let pass = 0; pass < 2; pass++) {
      for (const topic of topics) {
        for (const [acl, mayPublish] of prepared) expect(mayPublish(topic), topic).toBe(Users.mayPublish(acl, topic));
      }
    }
    // By hand: press-1's ACL grants its own machine and every machine's status topic, the default every sensors/ topic.
    const [press1May, everythingMay, nothingMay] = prepared.map(([, mayPublish]) => mayPublish);
    expect(topics.map((t) => press1May!(t))).toEqual([true, false, true, true, false, false, false]);
    expect(topics.map((t) => everythingMay!(t))).toEqual([true, true, true, true, true, false, false]);
    expect(topics.map((t) => nothingMay!(t))).toEqual(topics.map(() => false));
  });
});
