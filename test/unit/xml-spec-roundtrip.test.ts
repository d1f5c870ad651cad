/**
 * What a spec builder writes, the matching describe function reads back unchanged: names, descriptions and
 * paths survive escaping byte for byte, enums and numbers keep their values.
 */

import fc from 'fast-check';
import {
  backupSpecToXml,
  checkpointSpecToXml,
  describeBackup,
  describeCheckpoint,
  describeSnapshot,
  snapshotSpecToXml,
} from '../../src/objects/xml';
import { backupSpec, checkpointSpec, snapshotSpec } from '../fixtures/xml/arbitraries';

const seconds = (t: Date | number): number => (t instanceof Date ? Math.floor(t.getTime() / 1000) : t);

test('snapshot specs read back as written', () => {
  fc.assert(
    fc.property(snapshotSpec.filter((s) => s.name !== undefined), (spec) => {
      const d = describeSnapshot(snapshotSpecToXml(spec));
      expect(d.name).toBe(spec.name);
      expect(d.description).toBe(spec.description || null);
      if (spec.memory === undefined) expect(d.memory).toBeNull();
      else expect(d.memory).toEqual({ snapshot: spec.memory.snapshot ?? 'external', file: 'file' in spec.memory ? spec.memory.file : null });
      expect(d.disks).toEqual(
        (spec.disks ?? []).map((disk) => ({
          name: disk.name,
          snapshot: disk.snapshot ?? (disk.source !== undefined || disk.driverType !== undefined ? 'external' : null),
          type: disk.type ?? null,
          driverType: disk.driverType ?? null,
          source: disk.source ?? null,
          deleteInProgress: false,
        })),
      );
      expect(d.state).toBe(spec.redefine?.state ?? null);
      expect(d.creationTime?.getTime() ?? null).toBe(spec.redefine ? seconds(spec.redefine.creationTime) * 1000 : null);
      expect(d.parent).toBe(spec.redefine?.parent ?? null);
      expect(d.domain).toEqual(
        spec.redefine?.domainXml ? { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', type: 'test' } : null,
      );
    }),
    { numRuns: 300 },
  );
});

test('checkpoint specs read back as written', () => {
  fc.assert(
    fc.property(checkpointSpec.filter((s) => s.name !== undefined), (spec) => {
      const d = describeCheckpoint(checkpointSpecToXml(spec));
      expect(d.name).toBe(spec.name);
      expect(d.description).toBe(spec.description || null);
      expect(d.disks).toEqual(
        (spec.disks ?? []).map((disk) => ({
          name: disk.name,
          checkpoint: disk.checkpoint ?? 'bitmap',
          bitmap: disk.bitmap ?? null,
          size: null,
        })),
      );
      expect(d.parent).toBe(spec.redefine?.parent ?? null);
      expect(d.creationTime?.getTime() ?? null).toBe(spec.redefine ? seconds(spec.redefine.creationTime) * 1000 : null);
    }),
    { numRuns: 300 },
  );
});

test('backup specs read back as written', () => {
  fc.assert(
    fc.property(backupSpec, (spec) => {
      const d = describeBackup(backupSpecToXml(spec));
      expect(d.mode).toBe(spec.mode ?? 'push');
      expect(d.incremental).toBe(spec.incremental ?? null);
      if (spec.mode === 'pull') {
        const s = spec.server;
        expect(d.server).toEqual({
          transport: s.transport ?? 'tcp',
          name: 'name' in s ? s.name : null,
          port: 'port' in s && s.port !== undefined ? s.port : null,
          socket: 'socket' in s ? s.socket : null,
          tls: s.tls ?? null,
          fdgroup: null,
        });
      } else {
        expect(d.server).toBeNull();
      }
      expect(d.disks).toEqual(
        (spec.disks ?? []).map((disk) => {
          const included = disk.backup !== false;
          const pull = 'scratch' in disk || 'exportName' in disk || 'exportBitmap' in disk;
          return {
            name: disk.name,
            backup: included,
            type: included ? (disk.type ?? 'file') : null,
            backupMode: disk.backupMode ?? null,
            incremental: disk.incremental ?? null,
            exportName: ('exportName' in disk && disk.exportName) || null,
            exportBitmap: ('exportBitmap' in disk && disk.exportBitmap) || null,
            index: null,
            format: disk.format ?? null,
            target: (!pull && 'target' in disk && disk.target) || null,
            scratch: ('scratch' in disk && disk.scratch) || null,
          };
        }),
      );
    }),
    { numRuns: 300 },
  );
});
