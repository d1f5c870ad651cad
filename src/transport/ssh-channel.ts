/**
 * The {@link Transport} over one SSH channel (an exec channel running the proxy command, or a stream-local channel
 * to the daemon's socket). It owns the SSH connection: when the channel closes, the connection is closed too, and
 * the sink hears `closed` only after both are gone (within a bound).
 *
 * A remote command that fails (virt-ssh-helper missing, nc cannot reach the socket, the daemon refuses) shows as
 * the channel closing with a non-zero exit status; the sink then gets an {@link SshError} `ERR_SSH_REMOTE_COMMAND`
 * quoting the command's stderr, trimmed and bounded, as libvirt appends the ssh process's stderr to its
 * end-of-file error (virNetSocketReadWire in src/rpc/virnetsocket.c).
 */

import type { Client, ClientChannel } from 'ssh2';
import { ConnectionClosedError, LibvirtRpcError, TransportError } from '../errors.js';
import type { Transport, TransportSink } from '../protocol/transport.js';
import { SshError, boundStderr } from './ssh-errors.js';

/** How long closing waits for the server to close the channel and the connection before cutting them, in ms. */
export const SSH_CLOSE_TIMEOUT_MS = 5000;
/** What virt-ssh-helper says when the daemon ended the connection. */
const HELPER_SAW_EOF = /^virt-ssh-helper: could not proxy traffic: End of file while reading data/m;
/** Most bytes of remote stderr kept. */
const STDERR_BYTES = 8192;

/** Options of {@link SshChannelTransport}. */
export interface SshChannelOptions {
  /** Whether a remote command runs (its exit status and stderr matter). */
  exec: boolean;
  /** Bound on a graceful close, in ms (default {@link SSH_CLOSE_TIMEOUT_MS}). */
  closeTimeout?: number;
}

/** A {@link Transport} over an ssh2 channel, owning the ssh2 client. */
export class SshChannelTransport implements Transport {
  readonly description: string;
  readonly #client: Client;
  readonly #channel: ClientChannel;
  readonly #exec: boolean;
  readonly #closeTimeout: number;
  #sink: TransportSink | null = null;
  #error: Error | undefined;
  #stderr = '';
  #stderrBytes = 0;
  #exit: { code: number | null; signal: string | null } | null = null;
  #localClose = false;
  #channelClosed = false;
  #clientClosed = false;
  #done = false;
  #reported = false;
  #timer: NodeJS.Timeout | null = null;
  readonly #waiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>();

  constructor(client: Client, channel: ClientChannel, description: string, options: SshChannelOptions) {
    this.description = description;
    this.#client = client;
    this.#channel = channel;
    this.#exec = options.exec;
    this.#closeTimeout = options.closeTimeout ?? SSH_CLOSE_TIMEOUT_MS;
    channel.stderr?.on('data', (chunk: Buffer) => {
      if (this.#stderrBytes >= STDERR_BYTES) return;
      const part = chunk.subarray(0, STDERR_BYTES - this.#stderrBytes);
      this.#stderrBytes += part.length;
      this.#stderr += part.toString('utf8');
    });
    channel.on('exit', (code: number | null, signal?: string) => {
      this.#exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null };
    });
    channel.on('end', () => {
      // The daemon side ended: end ours too (a libvirt daemon never sends after EOF).
      if (!channel.writableEnded) channel.end();
    });
    channel.on('drain', () => this.#settleWaiters());
    channel.on('error', (err: Error) => this.#fail(this.#wrap(err, 'channel')));
    channel.on('close', () => this.#onChannelClose());
    client.on('error', (err: Error) => this.#fail(this.#wrap(err, 'connection')));
    client.on('close', () => {
      this.#clientClosed = true;
      if (!this.#channelClosed) {
        this.#error ??= new TransportError(`${this.description}: the SSH connection closed before its channel did`);
        this.#channelClosed = true;
      }
      this.#finish();
    });
  }

  attach(sink: TransportSink): void {
    if (this.#sink !== null) throw new TransportError(`${this.description}: attach() called twice`);
    this.#sink = sink;
    if (this.#done) {
      queueMicrotask(() => this.#report());
      return;
    }
    this.#channel.on('data', (chunk: Buffer) => {
      if (!this.#done) this.#sink?.data(chunk);
    });
  }

  write(chunk: Uint8Array, written?: () => void): boolean {
    if (this.#done || this.#channel.destroyed || this.#channel.writableEnded) return false;
    if (written === undefined) return this.#channel.write(chunk);
    return this.#channel.write(chunk, (err?: Error | null) => {
      if (!err) written();
    });
  }

  whenWritable(): Promise<void> {
    if (this.#done || this.#channel.destroyed || this.#channel.writableEnded) return Promise.reject(this.#closedError());
    if (!this.#channel.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.add({ resolve, reject }));
  }

  /** Stops reading: ssh2 then stops growing the channel's window, which holds the remote side back. */
  pause(): void {
    this.#channel.pause();
  }

  resume(): void {
    this.#channel.resume();
  }

  end(): void {
    if (this.#done) return;
    this.#localClose = true;
    // EOF on the channel: the proxy command ends, the server closes the channel, then the connection is closed.
    if (!this.#channel.writableEnded) this.#channel.end();
    this.#arm();
  }

  destroy(err?: Error): void {
    if (err !== undefined) this.#error ??= err;
    this.#localClose = true;
    if (this.#done) return;
    this.#channel.destroy();
    this.#client.destroy();
    this.#arm();
  }

  #arm(): void {
    // Bound the close: a server that never answers is cut off.
    this.#timer ??= setTimeout(() => {
      this.#client.destroy();
      this.#channelClosed = this.#clientClosed = true;
      this.#finish();
    }, this.#closeTimeout);
    this.#timer.unref?.();
  }

  #onChannelClose(): void {
    this.#channelClosed = true;
    if (!this.#localClose && this.#exec && this.#error === undefined) {
      const exit = this.#exit;
      if (exit !== null && exit.signal === null && HELPER_SAW_EOF.test(this.#stderr)) {
        // virt-ssh-helper (libvirt 9.0, virt-ssh-helper.c) exits 1 saying "could not proxy traffic: End of file
        // while reading data" when the daemon closes its socket, which the daemon does after CONNECT_CLOSE. Over a
        // unix socket that is a plain end of file, so it is reported as one here.
      } else if (exit !== null && (exit.signal !== null || (exit.code !== null && exit.code !== 0))) {
        this.#error = this.#commandError(exit);
      } else if (exit === null && this.#stderr.trim() !== '') {
        this.#error = this.#commandError({ code: null, signal: null });
      }
    }
    // Then the connection: a clean SSH disconnect, cut off if the server does not close it.
    this.#client.end();
    this.#arm();
  }

  #commandError(exit: { code: number | null; signal: string | null }): SshError {
    const stderr = boundStderr(this.#stderr);
    const how = exit.signal !== null ? `was killed by signal ${exit.signal}` : exit.code !== null ? `exited with status ${exit.code}` : 'ended';
    return new SshError('ERR_SSH_REMOTE_COMMAND', `${this.description}: the remote command ${how}${stderr ? `: ${stderr}` : ' (no error output)'}`, {
      exitCode: exit.code, signal: exit.signal, stderr,
    });
  }

  #fail(err: Error): void {
    this.#error ??= err;
    if (!this.#channel.destroyed) this.#channel.destroy();
    this.#client.destroy();
    this.#arm();
  }

  #finish(): void {
    if (this.#done || !this.#clientClosed || !this.#channelClosed) return;
    this.#done = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#settleWaiters();
    if (this.#sink !== null) this.#report();
  }

  #report(): void {
    if (this.#reported || this.#sink === null) return;
    this.#reported = true;
    this.#sink.closed(this.#error);
  }

  #settleWaiters(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) {
      if (this.#done) w.reject(this.#closedError());
      else w.resolve();
    }
  }

  #closedError(): Error {
    return this.#error ?? new ConnectionClosedError(`${this.description}: the connection is closed`);
  }

  #wrap(err: Error, what: string): Error {
    if (err instanceof LibvirtRpcError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    return new TransportError(`${this.description}: SSH ${what} failed: ${err.message}${code && !err.message.includes(String(code)) ? ` (${code})` : ''}`, {
      cause: err,
    });
  }
}
