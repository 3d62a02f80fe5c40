export { generateSshKey, loadSshKey, fingerprintOf, type AgentKey, type GeneratedSshKey } from './keys.js';
export { hostKeyBlob } from './host-keys.js';
export { serveSshAgent, AGENT_LIMITS } from './serve.js';
export type { AgentPolicy } from './session.js';
