/**
 * An in-memory domain for scheduler tests without a daemon: snapshots (or checkpoints) with parents, as libvirt
 * links them (a new one is the child of the current one), descriptions, children lists, and hooks to make a
 * call fail. Only what the scheduler calls is there.
 */
import { RemoteError } from '../../src/errors';
import type { Domain } from '../../src/objects/domain';

export interface FakeSnapshot {
  name: string;
  parent: string | null;
  description: string | null;
}

export interface FakeDomainHooks {
  /** Called before each creation; an Error returned is thrown by it. */
  failCreate?: (name: string) => Error | null;
  /** Called before each getParent; an Error returned is thrown by it. */
  failParent?: (name: string) => Error | null;
}

export function noSnapshot(name: string): RemoteError {
  return new RemoteError(
    { code: 72, codeName: 'VIR_ERR_NO_DOMAIN_SNAPSHOT', domain: 10, domainName: 'VIR_FROM_QEMU', message: `no domain snapshot with matching name '${name}'`, level: 2, str1: null, str2: null, str3: null, int1: 0, int2: 0 },
    'REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME',
  );
}

/** A fake domain; `snaps` is its state (creation order), `current` the current snapshot. */
export function fakeDomain(hooks: FakeDomainHooks = {}) {
  const snaps: FakeSnapshot[] = [];
  const state = { current: null as string | null, deleted: [] as string[] };
  const find = (name: string) => snaps.find((s) => s.name === name);
  const handle = (name: string) => ({
    getName: () => name,
    async getParent() {
      const err = hooks.failParent?.(name);
      if (err) throw err;
      const s = find(name);
      if (!s) throw noSnapshot(name);
      return s.parent === null ? null : handle(s.parent);
    },
    async describe() {
      const s = find(name);
      if (!s) throw noSnapshot(name);
      return { name, description: s.description, parent: s.parent };
    },
    async listAllChildren() {
      return snaps.filter((s) => s.parent === name).map((s) => handle(s.name));
    },
    async delete() {
      const s = find(name);
      if (!s) throw noSnapshot(name);
      for (const c of snaps) if (c.parent === name) c.parent = s.parent;
      snaps.splice(snaps.indexOf(s), 1);
      if (state.current === name) state.current = s.parent;
      state.deleted.push(name);
    },
  });
  const create = async (spec: { name: string; description?: string }) => {
    const err = hooks.failCreate?.(spec.name);
    if (err) throw err;
    if (find(spec.name)) throw new Error(`domain moment ${spec.name} already exists`);
    snaps.push({ name: spec.name, parent: state.current, description: spec.description ?? null });
    state.current = spec.name;
    return handle(spec.name);
  };
  const domain = {
    getName: () => 'vm',
    getConnect: () => ({ isAlive: () => true }),
    listAllSnapshots: async () => snaps.map((s) => handle(s.name)),
    listAllCheckpoints: async () => snaps.map((s) => handle(s.name)),
    getSnapshotByName: async (n: string) => (find(n) ? handle(n) : Promise.reject(noSnapshot(n))),
    getCheckpointByName: async (n: string) => (find(n) ? handle(n) : Promise.reject(noSnapshot(n))),
    createSnapshot: create,
    createCheckpoint: create,
  };
  return { domain: domain as unknown as Domain, snaps, state };
}
