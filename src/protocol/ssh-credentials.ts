/**
 * What the SSH transport may ask the application for (key passphrases, passwords, keyboard-interactive prompts,
 * unknown host keys) and how it answers: the public side of SSH authentication. Kept apart from ./ssh-auth.ts,
 * which drives ssh2, so that the published type declarations never name ssh2's types (a consumer compiling with
 * `skipLibCheck: false` would otherwise need `@types/ssh2`).
 */

/** Asked for the passphrase of an encrypted private key file. */
export interface SshPassphraseRequest {
  type: 'passphrase';
  prompt: string;
  keyFile: string;
  /** 1 for the first try; a wrong passphrase is asked again, up to 3 times. */
  attempt: number;
}
/** Asked for the SSH password of `user` on `host`. */
export interface SshPasswordRequest {
  type: 'password';
  prompt: string;
  user: string;
  /** `host:port` (IPv6 in brackets). */
  host: string;
  attempt: number;
}
/** One prompt of keyboard-interactive authentication, as the server wrote it. */
export interface SshKeyboardInteractiveRequest {
  type: 'keyboard-interactive';
  prompt: string;
  /** Whether the answer may be shown while typed (false for secrets). */
  echo: boolean;
  /** The server's name and instructions for this round (may be empty). */
  name: string;
  instructions: string;
  user: string;
  host: string;
  attempt: number;
}
/** Asked whether to trust a host key known_hosts does not have (with `known_hosts_verify=normal`). */
export interface SshHostKeyRequest {
  type: 'host-key';
  prompt: string;
  host: string;
  port: number;
  keyType: string;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** Where an accepted key is added. */
  knownHostsFile: string;
}
/** Everything the SSH transport may ask the application for. */
export type SshCredentialRequest = SshPassphraseRequest | SshPasswordRequest | SshKeyboardInteractiveRequest | SshHostKeyRequest;
/**
 * The answer: the secret as a string; for `host-key`, `true` (or `'y'`/`'yes'`) to trust the key. `null` or
 * `undefined` declines: that key or method is skipped. Throwing aborts the connection.
 */
export type SshCredentialAnswer = string | boolean | null | undefined;
/** The credentials callback; it may be async. Its waits count against the open timeout. */
export type SshCredentialsCallback = (request: SshCredentialRequest) => SshCredentialAnswer | Promise<SshCredentialAnswer>;
