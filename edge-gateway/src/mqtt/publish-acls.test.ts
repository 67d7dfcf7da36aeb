// Prepared ACLs answer as Users.mayPublish does, per ACL object.
import { describe, expect, it } from 'vitest';
import { PublishAcls } from './publish-acls.js';
import { Users } from './users.js';

const press1 = { publish: ['sensors/press-1/#', 'sensors/+/status'], subscribe: [] };
const everything = { publish: ['sensors/#'], subscribe: [] };
const nothing = { publish: [], subscribe: [] };

describe('prepared publish ACLs', () => {
  it('answer as the ACL does, for each ACL apart, the first time and every time after', () => {
    const acls = new PublishAcls();
    const topics = ['sensors/press-1/temp', 'sensors/press-2/temp', 'sensors/press-2/status', 'sensors/press-1/temp/pb', 'sensors', 'alerts/x', '$SYS/x'];
    for (let pass = 0; pass < 2; pass++) {
      for (const topic of topics) {
        for (const acl of [press1, everything, nothing]) expect(acls.mayPublish(acl, topic), topic).toBe(Users.mayPublish(acl, topic));
      }
    }
    // By hand: press-1's ACL grants its own machine and every machine's status topic, the default every sensors/ topic.
    expect(topics.map((t) => acls.mayPublish(press1, t))).toEqual([true, false, true, true, false, false, false]);
    expect(topics.map((t) => acls.mayPublish(everything, t))).toEqual([true, true, true, true, true, false, false]);
    expect(topics.map((t) => acls.mayPublish(nothing, t))).toEqual(topics.map(() => false));
  });

  it('a new ACL object with other filters (a reload) is prepared afresh, not answered from the old one', () => {
    const acls = new PublishAcls();
    expect(acls.mayPublish(press1, 'sensors/press-2/temp')).toBe(false);
    const reloaded = { publish: ['sensors/press-1/#', 'sensors/press-2/#'], subscribe: [] };
    expect(acls.mayPublish(reloaded, 'sensors/press-2/temp')).toBe(true);
  });
});
