/** bounded(): one timer, one abort listener, one settle, clean-ups that run once with the outcome. */
import { AbortError, InvalidArgumentError, TimeoutError } from '../../src/errors';
import { bounded } from '../../src/protocol/bounded';

const bound = (timeout: number, signal?: AbortSignal) => ({
  timeout,
  signal,
  onTimeout: () => new TimeoutError(`no answer within ${timeout} ms`),
  onAbort: (reason: unknown) => new AbortError('aborted', { cause: reason }),
});

test('the first outcome wins; clean-ups run once, newest first, with it', async () => {
  const seen: string[] = [];
  const p = bounded<number>(bound(1000), (s) => {
    s.finally((err) => seen.push(`a:${err?.message ?? 'ok'}`));
    s.finally((err) => seen.push(`b:${err?.message ?? 'ok'}`));
    s.ok(1);
    s.fail(new Error('late'));
    s.ok(2);
  });
  await expect(p).resolves.toBe(1);
  expect(seen).toEqual(['b:ok', 'a:ok']);
});

test('a clean-up registered after the end runs at once with the outcome', async () => {
  let settle!: import('../../src/protocol/bounded').Settle<void>;
  const p = bounded<void>(bound(1000), (s) => {
    settle = s;
    s.fail(new Error('boom'));
  });
  await expect(p).rejects.toThrow('boom');
  const seen: (string | null)[] = [];
  settle.finally((err) => seen.push(err?.message ?? null));
  expect(seen).toEqual(['boom']);
  expect(settle.settled).toBe(true);
});

test('the bound: TimeoutError built when it fires; clean-ups tear down', async () => {
  let torn = false;
  const p = bounded<void>(bound(20), (s) => s.finally((err) => (torn = err instanceof TimeoutError)));
  await expect(p).rejects.toThrow('no answer within 20 ms');
  expect(torn).toBe(true);
});

test('a signal that fired already fails before start runs; a later one fails with AbortError', async () => {
  let started = false;
  await expect(bounded(bound(1000, AbortSignal.abort('why')), () => {
    started = true;
  })).rejects.toBeInstanceOf(AbortError);
  expect(started).toBe(false);
  const ctl = new AbortController();
  const p = bounded(bound(1000, ctl.signal), () => undefined);
  ctl.abort();
  await expect(p).rejects.toBeInstanceOf(AbortError);
});

test('a returned promise settles it; a throwing start or clean-up does not escape', async () => {
  await expect(bounded<number>(bound(1000), async () => 5)).resolves.toBe(5);
  await expect(bounded(bound(1000), () => {
    throw new Error('sync');
  })).rejects.toThrow('sync');
  await expect(bounded<number>(bound(1000), (s) => {
    s.finally(() => {
      throw new Error('cleanup');
    });
    s.ok(3);
  })).resolves.toBe(3);
});

test('a bad bound is refused like every timeout', async () => {
  await expect(bounded(bound(Infinity), () => undefined)).rejects.toBeInstanceOf(InvalidArgumentError);
});
