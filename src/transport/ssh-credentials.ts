/** The SSH credential request types live in the browser-safe core (src/protocol/ssh-credentials.ts). */
export * from '../protocol/ssh-credentials.js';
