/**
 * An SSH channel (an exec channel running the proxy command, or a stream-local channel to the daemon's socket)
 * as a {@link Transport}: the one stream adapter (./node-stream.ts) over the channel, owning the SSH connection.
 * When the channel closes, the connection is closed too, and the sink hears `closed` only after both are gone
 * (within a bound).
 *
 * A remote command that fails (virt-ssh-helper missing, nc cannot reach the socket, the daemon refuses) shows as
 * the channel closing with a non-zero exit status; the sink then gets an {@link SshError} `ERR_SSH_REMOTE_COMMAND`
 * quoting the command's stderr, trimmed and bounded, as libvirt appends the ssh process's stderr to its
 * end-of-file error (virNetSocketReadWire in src/rpc/virnetsocket.c).
 */

import type { Client, ClientChannel } from 'ssh2';
import { LibvirtRpcError, TransportError } from '../errors.js';
import type { Transport } from '../protocol/transport.js';
import { DuplexTransport } from './node-stream.js';
import { SshError, boundStderr } from './ssh-errors.js';

/** How long closing waits for the server to close the channel and the connection before cutting them, in ms. */
export const SSH_CLOSE_TIMEOUT_MS = 5000;
/** What virt-ssh-helper says when the daemon ended the connection. */
const HELPER_SAW_EOF = /^virt-ssh-helper: could not proxy traffic: End of file while reading data/m;
/** Most bytes of remote stderr kept. */
const STDERR_BYTES = 8192;

/** Options of {@link sshChannelTransport}. */
export interface SshChannelOptions {
  /** Whether a remote command runs (its exit status and stderr matter). */
  exec: boolean;
  /** Bound on a graceful close, in ms (default {@link SSH_CLOSE_TIMEOUT_MS}). */
  closeTimeout?: number;
}

/** A {@link Transport} over an ssh2 channel, owning the ssh2 client. */
export function sshChannelTransport(client: Client, channel: ClientChannel, description: string, options: SshChannelOptions): Transport {
  const command = new RemoteCommand(channel, description);
  let leaving = false;
  let clientClosed = false;
  const gone = new Promise<void>((resolve) => client.on('close', () => {
    clientClosed = true;
    resolve();
  }));
  const transport = new DuplexTransport(channel, description, {
    // An SSH channel is encrypted and reaches the verified host (Transport.confidential).
    confidential: true,
    closeTimeout: options.closeTimeout ?? SSH_CLOSE_TIMEOUT_MS,
    owner: {
      streamClosed: (local) => (local || !options.exec ? undefined : command.failure()),
      close: () => {
        // Then the connection: a clean SSH disconnect, cut off (closeTimeout) if the server does not close it.
        leaving = true;
        if (!clientClosed) client.end();
        return gone;
      },
      destroy: () => {
        leaving = true;
        client.destroy();
      },
    },
  });
  client.on('error', (err: Error) => transport.destroy(wrap(err, description)));
  client.on('close', () => {
    if (!leaving) transport.destroy(new TransportError(`${description}: the SSH connection closed before its channel did`));
  });
  return transport;
}

/** The remote command's exit status and stderr, and what they say about a channel that closed. */
class RemoteCommand {
  readonly #description: string;
  #stderr = '';
  #stderrBytes = 0;
  #exit: { code: number | null; signal: string | null } | null = null;

  constructor(channel: ClientChannel, description: string) {
    this.#description = description;
    channel.stderr?.on('data', (chunk: Buffer) => {
      if (this.#stderrBytes >= STDERR_BYTES) return;
      const part = chunk.subarray(0, STDERR_BYTES - this.#stderrBytes);
      this.#stderrBytes += part.length;
      this.#stderr += part.toString('utf8');
    });
    channel.on('exit', (code: number | null, signal?: string) => {
      this.#exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null };
    });
  }

  /** The error a channel closed by the far end means, or undefined for a clean end. */
  failure(): SshError | undefined {
    const exit = this.#exit;
    if (exit !== null && exit.signal === null && HELPER_SAW_EOF.test(this.#stderr)) {
      // virt-ssh-helper (libvirt 9.0, virt-ssh-helper.c) exits 1 saying "could not proxy traffic: End of file
      // while reading data" when the daemon closes its socket, which the daemon does after CONNECT_CLOSE. Over a
      // unix socket that is a plain end of file, so it is reported as one here.
      return undefined;
    }
    if (exit !== null && (exit.signal !== null || (exit.code !== null && exit.code !== 0))) return this.#error(exit);
    if (exit === null && this.#stderr.trim() !== '') return this.#error({ code: null, signal: null });
    return undefined;
  }

  #error(exit: { code: number | null; signal: string | null }): SshError {
    const stderr = boundStderr(this.#stderr);
    const how = exit.signal !== null ? `was killed by signal ${exit.signal}` : exit.code !== null ? `exited with status ${exit.code}` : 'ended';
    return new SshError('ERR_SSH_REMOTE_COMMAND', `${this.#description}: the remote command ${how}${stderr ? `: ${stderr}` : ' (no error output)'}`, {
      exitCode: exit.code, signal: exit.signal, stderr,
    });
  }
}

function wrap(err: Error, description: string): Error {
  if (err instanceof LibvirtRpcError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new TransportError(`${description}: SSH connection failed: ${err.message}${code && !err.message.includes(String(code)) ? ` (${code})` : ''}`, {
    cause: err,
  });
}
