import { describe, expect, it } from 'vitest';
import { RpcError } from './errors.js';
import { parseProjectName, parseSubscriptionName, parseTopicName } from './names.js';

describe('resource names', () => {
  it('accepts valid topic and subscription names', () => {
    expect(parseTopicName('projects/p-1/topics/machine.windows~v1+x%2F')).toEqual({ project: 'p-1', id: 'machine.windows~v1+x%2F', full: 'projects/p-1/topics/machine.windows~v1+x%2F' });
    expect(parseSubscriptionName('projects/p/subscriptions/abc').id).toBe('abc');
    expect(parseProjectName('projects/p')).toBe('p');
  });

  it.each([
    ['', /required/],
    ['projects/p/topics/ab', /3-255/],
    ['projects/p/topics/9abc', /start with a letter/],
    ['projects/p/topics/goog-topic', /must not start with "goog"/],
    ['projects/p/topics/a b c', /letters, digits/],
    ['projects/p/subscriptions/abc', /expected projects\/\{project\}\/topics/],
    ['projects//topics/abc', /expected/],
  ])('rejects topic name %j with INVALID_ARGUMENT', (name, message) => {
    const attempt = () => parseTopicName(name);
    expect(attempt).toThrow(RpcError);
    expect(attempt).toThrow(message);
  });
});
