// The remembered publish decisions give the answer Users.mayPublish gives, per ACL, within their bound.
import { describe, expect, it } from 'vitest';
import { PublishDecisions } from './publish-decisions.js';
import { Users } from './users.js';

const press1 = { publish: ['sensors/press-1/#'], subscribe: [] };
const everything = { publish: ['sensors/#'], subscribe: [] };

describe('remembered publish decisions', () => {
  it('answer as the ACL does, for each ACL apart, the first time and every time after', () => {
    const decisions = new PublishDecisions();
    const topics = ['sensors/press-1/temp', 'sensors/press-2/temp', 'sensors/press-1/temp/pb', 'alerts/x', '$SYS/x'];
    for (let pass = 0; pass < 2; pass++) {
      for (const topic of topics) {
        expect(decisions.mayPublish(press1, topic)).toBe(Users.mayPublish(press1, topic));
        expect(decisions.mayPublish(everything, topic)).toBe(Users.mayPublish(everything, topic));
      }
    }
    // By hand: press-1's ACL grants only its own machine, the default one every sensors/ topic.
    expect(topics.map((t) => decisions.mayPublish(press1, t))).toEqual([true, false, true, false, false]);
    expect(topics.map((t) => decisions.mayPublish(everything, t))).toEqual([true, true, true, false, false]);
  });

  it('a new ACL object with other filters (a reload) is answered afresh, not from the old one', () => {
    const decisions = new PublishDecisions();
    expect(decisions.mayPublish(press1, 'sensors/press-2/temp')).toBe(false);
    const reloaded = { publish: ['sensors/press-1/#', 'sensors/press-2/#'], subscribe: [] };
    expect(decisions.mayPublish(reloaded, 'sensors/press-2/temp')).toBe(true);
  });

  it('keep answering correctly past their bound of topics per ACL', () => {
    const decisions = new PublishDecisions(3);
    for (let i = 0; i < 10; i++) {
      expect(decisions.mayPublish(press1, `sensors/press-${i}/temp`)).toBe(i === 1);
    }
    expect(decisions.mayPublish(press1, 'sensors/press-1/temp')).toBe(true);
    expect(decisions.mayPublish(press1, 'sensors/press-0/temp')).toBe(false);
  });
});
