/**
 * SSH user authentication in the order of the URI's `sshauth` parameter, as libvirt's libssh transport does it
 * (virNetLibsshAuthenticate in src/rpc/virnetlibsshsession.c): first `none`, then each listed method the server
 * offers, in order, until one succeeds. The default order is agent, privkey, password, keyboard-interactive
 * (docs/uri.rst). Secrets come from a credentials callback, libvirt's virConnectAuth in spirit: the library says
 * what it needs (a passphrase for a key file, a password for user@host, the answer to a server prompt, whether to
 * trust a new host key) and the application answers.
 */

import type { AnyAuthMethod, AuthenticationType, NextAuthHandler, Prompt } from 'ssh2';
import { SshError } from './ssh-errors.js';
import { KeyFileAgent, PassphraseDeclined, unlockIdentity, type Identity } from './ssh-keys.js';
import type { SshCredentialRequest, SshHostKeyRequest } from './ssh-credentials.js';
import type { SshAuthMethod } from './uri.js';

export type {
  SshPassphraseRequest,
  SshPasswordRequest,
  SshKeyboardInteractiveRequest,
  SshHostKeyRequest,
  SshCredentialRequest,
  SshCredentialAnswer,
  SshCredentialsCallback,
} from './ssh-credentials.js';

/** Asks the application (already wrapped with the timeout); resolves with the string, or null when declined. */
export type Ask = (request: Exclude<SshCredentialRequest, SshHostKeyRequest>) => Promise<string | null>;

/** How many password or keyboard-interactive rounds are tried (OpenSSH's NumberOfPasswordPrompts). */
export const INTERACTIVE_ATTEMPTS = 3;

/** Inputs of {@link SshAuthenticator}. */
export interface SshAuthOptions {
  user: string;
  /** `host:port`, for prompts and messages. */
  hostLabel: string;
  /** The `sshauth` order. */
  methods: readonly SshAuthMethod[];
  identities: readonly Identity[];
  /** `SSH_AUTH_SOCK`, when set. */
  agentSocket: string | undefined;
  /** Asks for a secret, or null when there is no way to ask (no callback, or `no_tty`). */
  ask: Ask | null;
  /** Whether password and keyboard-interactive are allowed (OpenSSH forbids them after accepting a changed host key). */
  interactiveAllowed: () => boolean;
  /** A failure that must end the connection (a wrong passphrase): the caller records it and disconnects. */
  fatal: (err: unknown) => void;
  debug: (line: string) => void;
}

type Step =
  | { kind: 'agent' }
  | { kind: 'privkey'; identity: Identity }
  | { kind: 'password'; attempt: number }
  | { kind: 'keyboard-interactive'; attempt: number };

const SERVER_METHOD: Record<Step['kind'], AuthenticationType> = {
  agent: 'publickey', privkey: 'publickey', password: 'password', 'keyboard-interactive': 'keyboard-interactive',
};

/** Drives ssh2's `authHandler` through the `sshauth` order and remembers what happened, for the final error. */
export class SshAuthenticator {
  readonly #o: SshAuthOptions;
  readonly #queue: Step[] = [];
  /** Why listed methods were not tried, e.g. `password: no credentials callback`. */
  readonly notes: string[] = [];
  /** Methods actually tried, e.g. `privkey /home/u/.ssh/id_ed25519`. */
  readonly tried: string[] = [];
  #started = false;
  #current: Step | null = null;
  #declined = false;
  #serverMethods: readonly string[] = [];
  #unsupported = 0;

  constructor(options: SshAuthOptions) {
    this.#o = options;
    for (const m of options.methods) {
      if (m === 'agent') {
        if (options.agentSocket) this.#queue.push({ kind: 'agent' });
        else this.notes.push('agent: SSH_AUTH_SOCK is not set');
      } else if (m === 'privkey') {
        if (options.identities.length === 0) this.notes.push('privkey: no key file (keyfile= or ~/.ssh/id_*)');
        for (const identity of options.identities) this.#queue.push({ kind: 'privkey', identity });
      } else if (options.ask === null) {
        this.notes.push(`${m}: no credentials callback to ask with (or no_tty=1)`);
      } else {
        this.#queue.push({ kind: m, attempt: 1 });
      }
    }
  }

  /** The methods the server listed in its last failure, e.g. `publickey,password`. */
  get serverMethods(): readonly string[] {
    return this.#serverMethods;
  }

  /** A summary for the final error, as libvirt words its three cases. */
  summary(): string {
    const offered = this.#serverMethods.length ? ` (the server offers: ${this.#serverMethods.join(', ')})` : '';
    const notes = this.notes.length ? `; ${this.notes.join('; ')}` : '';
    if (this.tried.length === 0 && this.#unsupported > 0) {
      return `the server supports none of the requested authentication methods (${this.#o.methods.join(', ')})${offered}${notes}`;
    }
    if (this.tried.length === 0) return `no authentication method could be tried${offered}${notes}`;
    return `the server refused every authentication method tried (${this.tried.join(', ')})${offered}${notes}`;
  }

  /** ssh2's `authHandler`. */
  readonly handler = (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, next: NextAuthHandler): void => {
    if (!this.#started) {
      this.#started = true;
      // virNetLibsshAuthenticate starts with "none", which also fetches the server's list of methods.
      next({ type: 'none', username: this.#o.user });
      return;
    }
    if (methodsLeft) this.#serverMethods = methodsLeft;
    this.#retryCurrent();
    this.#next(methodsLeft ?? [], next).catch((err: unknown) => this.#o.fatal(err));
  };

  #retryCurrent(): void {
    const c = this.#current;
    this.#current = null;
    if (c === null || this.#declined) {
      this.#declined = false;
      return;
    }
    if ((c.kind === 'password' || c.kind === 'keyboard-interactive') && c.attempt < INTERACTIVE_ATTEMPTS) {
      this.#queue.unshift({ kind: c.kind, attempt: c.attempt + 1 });
    }
  }

  async #next(methodsLeft: readonly string[], next: NextAuthHandler): Promise<void> {
    for (;;) {
      const step = this.#queue.shift();
      if (step === undefined) {
        next(false as unknown as AnyAuthMethod); // ssh2: false ends authentication with a failure
        return;
      }
      if (!methodsLeft.includes(SERVER_METHOD[step.kind])) {
        this.#unsupported++;
        this.#o.debug(`ssh auth: skipping ${step.kind}: the server does not offer ${SERVER_METHOD[step.kind]}`);
        continue;
      }
      if ((step.kind === 'password' || step.kind === 'keyboard-interactive') && !this.#o.interactiveAllowed()) {
        this.notes.push(`${step.kind}: disabled because the host key changed (no_verify)`);
        continue;
      }
      const method = await this.#method(step);
      if (method === null) continue;
      this.#current = step;
      this.#o.debug(`ssh auth: trying ${describe(step)}`);
      if (!('attempt' in step) || step.attempt === 1) this.tried.push(describe(step));
      next(method);
      return;
    }
  }

  async #method(step: Step): Promise<AnyAuthMethod | null> {
    const { user, hostLabel } = this.#o;
    switch (step.kind) {
      case 'agent':
        return { type: 'agent', username: user, agent: this.#o.agentSocket! };
      case 'privkey': {
        const identity = step.identity;
        const agent = new KeyFileAgent(identity, () => this.#unlock(identity), (err) => this.#keyFailed(identity, err));
        return { type: 'agent', username: user, agent };
      }
      case 'password': {
        const password = await this.#o.ask!({
          type: 'password', prompt: `${user}@${hostLabel}'s password: `, user, host: hostLabel, attempt: step.attempt,
        });
        if (password === null) {
          this.notes.push('password: declined by the credentials callback');
          return null;
        }
        return { type: 'password', username: user, password };
      }
      case 'keyboard-interactive':
        return {
          type: 'keyboard-interactive',
          username: user,
          prompt: (name: string, instructions: string, _lang: string, prompts: Prompt[], finish: (answers: string[]) => void) => {
            this.#answerPrompts(step.attempt, name, instructions, prompts).then(finish, (err: unknown) => this.#o.fatal(err));
          },
        };
    }
  }

  async #answerPrompts(attempt: number, name: string, instructions: string, prompts: Prompt[]): Promise<string[]> {
    const answers: string[] = [];
    for (const p of prompts) {
      const answer = await this.#o.ask!({
        type: 'keyboard-interactive', prompt: p.prompt, echo: p.echo === true, name, instructions,
        user: this.#o.user, host: this.#o.hostLabel, attempt,
      });
      if (answer === null) {
        // ssh2 cannot cancel a round; an empty answer fails it, and this method is not tried again.
        this.#declined = true;
        this.notes.push('keyboard-interactive: declined by the credentials callback');
        return [];
      }
      answers.push(answer);
    }
    return answers;
  }

  async #unlock(identity: Identity) {
    const ask = this.#o.ask;
    return unlockIdentity(identity, async (attempt) => {
      if (ask === null) throw new PassphraseDeclined('no way to ask');
      return ask({ type: 'passphrase', prompt: `Enter passphrase for key '${identity.file}': `, keyFile: identity.file, attempt });
    });
  }

  #keyFailed(identity: Identity, err: unknown): void {
    if (err instanceof PassphraseDeclined) {
      // libvirt fails outright when it cannot ask for the passphrase of the key it was given; a default identity
      // that cannot be opened is skipped, as OpenSSH in batch mode skips it.
      if (identity.explicit) {
        const why = this.#o.ask === null
          ? 'there is no way to ask for its passphrase (give a credentials callback, and no no_tty=1)'
          : 'the credentials callback gave no passphrase';
        this.#o.fatal(new SshError('ERR_SSH_PASSPHRASE', `SSH key file ${identity.file} is encrypted and ${why}`, { keyFile: identity.file }));
      } else {
        this.notes.push(`privkey ${identity.file}: encrypted, no passphrase given`);
      }
      return;
    }
    this.#o.fatal(err);
  }
}

function describe(step: Step): string {
  return step.kind === 'privkey' ? `privkey ${step.identity.file}` : step.kind;
}
