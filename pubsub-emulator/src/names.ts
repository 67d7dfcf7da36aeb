// Resource-name validation with the service's rules
// (https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names): ids are 3-255 characters, start with a
// letter, use only [A-Za-z0-9-_.~+%], and must not start with "goog".
import { invalidArgument } from './errors.js';

const RESOURCE_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
// Project ids are not validated by the emulator beyond being one non-empty path segment, like Google's.
const PROJECT_ID = /^[^/]+$/;

/** The topic a subscription points at after its topic was deleted (what the real service reports). */
export const DELETED_TOPIC = '_deleted-topic_';

export interface ResourceName {
  project: string;
  id: string;
  full: string;
}

function checkId(kind: 'topic' | 'subscription', id: string, full: string): void {
  if (!RESOURCE_ID.test(id)) {
    throw invalidArgument(
      `Invalid [${kind}s] name: (name=${full}). A ${kind} id must be 3-255 characters, start with a letter and contain only letters, digits and -_.~+%`,
    );
  }
  if (id.toLowerCase().startsWith('goog')) {
    throw invalidArgument(`Invalid [${kind}s] name: (name=${full}). A ${kind} id must not start with "goog".`);
  }
}

function parse(kind: 'topic' | 'subscription', field: string, name: unknown): ResourceName {
  const full = typeof name === 'string' ? name : '';
  if (full === '') throw invalidArgument(`${field} is required: expected projects/{project}/${kind}s/{${kind}}`);
  const parts = full.split('/');
  const [projects, project, collection, id] = parts;
  if (parts.length !== 4 || projects !== 'projects' || collection !== `${kind}s` || !project || !PROJECT_ID.test(project) || id === undefined) {
    throw invalidArgument(`Invalid [${kind}s] name: (name=${full}) in ${field}: expected projects/{project}/${kind}s/{${kind}}`);
  }
  checkId(kind, id, full);
  return { project, id, full };
}

export const parseTopicName = (name: unknown, field = 'topic') => parse('topic', field, name);
export const parseSubscriptionName = (name: unknown, field = 'subscription') => parse('subscription', field, name);

export function parseProjectName(name: unknown, field = 'project'): string {
  const full = typeof name === 'string' ? name : '';
  const match = /^projects\/([^/]+)$/.exec(full);
  if (!match?.[1]) throw invalidArgument(`Invalid ${field}: (name=${full}): expected projects/{project}`);
  return match[1];
}
