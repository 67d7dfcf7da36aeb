// Topic filters against the rules and examples of MQTT 3.1.1 section 4.7 (Topic Names and Topic Filters).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterCovers, topicFilterProblem, topicMatcher, topicMatches } from './topic-filter.js';

describe('topic filter syntax', () => {
  it.each([
    // 4.7.1.2: "sport/tennis/#", "sport/#" and "#" are valid; "sport/tennis#" and "sport/tennis/#/ranking" are not.
    ['sport/tennis/#', undefined],
    ['sport/#', undefined],
    ['#', undefined],
    ['sport/tennis#', '"#" must be a whole level and the last one'],
    ['sport/tennis/#/ranking', '"#" must be a whole level and the last one'],
    // 4.7.1.3: "+", "+/tennis/#" and "sport/+/player1" are valid; "sport+" is not.
    ['+', undefined],
    ['+/tennis/#', undefined],
    ['sport/+/player1', undefined],
    ['sport+', '"+" must be a whole level'],
    ['sensors/press-+/#', '"+" must be a whole level'],
    // 4.7.3: at least one character; no NUL; empty levels are allowed.
    ['', 'it is empty'],
    ['a\u0000b', 'it contains a NUL character'],
    ['/finance', undefined],
    ['a//b', undefined],
  ])('%j: %s', (filter, problem) => {
    expect(topicFilterProblem(filter)).toBe(problem);
  });
});

describe('a filter matched against a topic name', () => {
  it.each([
    // 4.7.1.2: "sport/tennis/player1/#" matches the parent and everything below; "sport/#" matches "sport".
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    // 4.7.1.3: "sport/tennis/+" matches one level only; "sport/+" does not match "sport" but matches "sport/".
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    // "+/+" and "/+" match "/finance"; "+" does not.
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    // 4.7.2: a filter starting with a wildcard matches no topic starting with "$".
    ['#', '$SYS/broker/clients', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ])('%j matches %j: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
    expect(topicMatcher(filter)(topic)).toBe(expected);
  });

  it('prepared once (topicMatcher), gives topicMatches’ answer for every valid filter and topic', () => {
    const level = fc.constantFrom('a', 'b', '', '$SYS', 'sensors', 'sensors-1', 'a/');
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((levels) => levels.join('/'));
    const filter = fc
      .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 3 }), fc.boolean())
      .map(([levels, hash]) => [...levels, ...(hash ? ['#'] : [])].join('/'))
      .filter((f) => topicFilterProblem(f) === undefined);
    fc.assert(
      fc.property(filter, topic, (f, t) => {
        expect(topicMatcher(f)(t)).toBe(topicMatches(f, t));
      }),
      { numRuns: 20_000, seed: 20261206 },
    );
  });
});

describe('a granted filter covering a requested filter (every topic the request can match)', () => {
  it.each([
    ['alerts/+', 'alerts/x', true],
    ['alerts/+', 'alerts/+', true],
    // alerts/# also matches alerts and alerts/x/y, which alerts/+ does not.
    ['alerts/+', 'alerts/#', false],
    ['alerts/+', 'alerts', false],
    ['alerts/#', 'alerts/+/y', true],
    ['alerts/#', 'alerts/#', true],
    ['alerts/#', 'alerts', true], // "sport/#" matches "sport"
    ['alerts/#', 'alerting/x', false],
    // Neither of +/a and x/+ contains the other: x/b is only in x/+, y/a only in +/a.
    ['+/a', 'x/+', false],
    ['x/+', '+/a', false],
    ['+/+', 'x/a', true],
    ['+/#', '+', true], // "+/#" matches every one-level topic through the parent rule
    ['+', '+/#', false],
    ['a', 'a/#', false],
    ['a/b', 'a', false],
    ['a/+', 'a/b/c', false],
    ['#', '#', true],
    ['#', 'anything/at/all', true],
    ['#', '/finance', true],
    // "$" topics: a wildcard first level grants none of them.
    ['#', '$SYS/#', false],
    ['#', '$SYS', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker/+', true],
    ['$SYS/#', '+/broker', false],
    ['+/broker', '+/broker', true],
  ])('%j covers %j: %s', (granted, requested, expected) => {
    expect(filterCovers(granted, requested)).toBe(expected);
  });
});
