export { parseCredentialInput, type CredentialAction, type CredentialRequest } from './parse.js';
export { matchesRepository } from './policy.js';
export { serveGitCredential, CREDENTIAL_LIMITS, type CredentialAnswerer } from './serve.js';
