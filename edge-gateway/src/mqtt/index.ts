export { startBroker } from './broker.js';
export type { BrokerHooks, BrokerOptions, RunningBroker } from './broker.js';
export { TlsFileError, loadCredentials } from './credentials.js';
export type { Credentials } from './credentials.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { Users, UsersFileError } from './users.js';
export type { User } from './users.js';
export { topicMatches } from './topic-filter.js';
