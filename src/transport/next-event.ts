/**
 * Waiting for one event of a Node stream or emitter as a step: the event's value, or a rejection when the
 * emitter fails (`'error'`) or closes (`'close'`) first. Listeners are removed either way.
 */

import type { EventEmitter } from 'node:events';

/** The emitter closed before the awaited event. */
export class PeerClosed extends Error {
  constructor(readonly event: string) {
    super(`closed before '${event}'`);
  }
}

/**
 * Resolves with the first argument of the next `event` on `emitter`; rejects with the emitter's error, or a
 * {@link PeerClosed} when it closes first. For `'data'` the stream is paused as the chunk arrives, so that no
 * later chunk is emitted while nobody listens.
 */
export function nextEvent<T = void>(emitter: EventEmitter, event: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onEvent = (value: T): void => {
      if (event === 'data') (emitter as EventEmitter & { pause(): void }).pause();
      off();
      resolve(value);
    };
    const onError = (err: Error): void => {
      off();
      reject(err);
    };
    const onClose = (): void => {
      off();
      reject(new PeerClosed(event));
    };
    const off = (): void => {
      emitter.removeListener(event, onEvent);
      emitter.removeListener('error', onError);
      emitter.removeListener('close', onClose);
    };
    emitter.on(event, onEvent);
    emitter.on('error', onError);
    emitter.on('close', onClose);
  });
}
