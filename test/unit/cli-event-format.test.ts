/**
 * virsh 9.0's lines for the domain events the sandbox cannot produce (graphics, I/O errors, watchdog, memory
 * failure, thresholds, tunables...), from the format strings of tools/virsh-domain-event.c; printf's %g as
 * virTypedParameterToString prints doubles; libvirt's pretty JSON (json-c PRETTY|SPACED) for nested values.
 */
import { Domain } from '../../src/index';
import type { DomainEvent } from '../../src/events/index';
import { formatDomainEvent, formatG, prettyJson, typedParamText, virshTimestamp } from '../../src/cli/event-format';

const dom = new Domain({} as never, { name: 'vm1', uuid: new Uint8Array(16), id: 1 });
const ev = (e: Record<string, unknown>) => formatDomainEvent({ family: 'domain', domain: dom, ...e } as unknown as DomainEvent);

test('each domain event in virsh 9.0 words', () => {
  expect(ev({ type: 'lifecycle', eventCode: 5, detailCode: 1 })).toBe("event 'lifecycle' for domain 'vm1': Stopped Destroyed\n");
  expect(ev({ type: 'lifecycle', eventCode: 3, detailCode: 99 })).toBe("event 'lifecycle' for domain 'vm1': Suspended unknown\n");
  expect(ev({ type: 'lifecycle', eventCode: 42, detailCode: 0 })).toBe("event 'lifecycle' for domain 'vm1': unknown unknown\n");
  expect(ev({ type: 'rtc-change', utcOffset: -3600 })).toBe("event 'rtc-change' for domain 'vm1': -3600\n");
  expect(ev({ type: 'watchdog', actionCode: 6 })).toBe("event 'watchdog' for domain 'vm1': inject-nmi\n");
  expect(ev({ type: 'io-error', srcPath: '/d.img', devAlias: 'virtio-disk0', actionCode: 1 })).toBe("event 'io-error' for domain 'vm1': /d.img (virtio-disk0) pause\n");
  expect(ev({ type: 'io-error-reason', srcPath: '/d.img', devAlias: 'virtio-disk0', actionCode: 2, reason: 'enospc' }))
    .toBe("event 'io-error-reason' for domain 'vm1': /d.img (virtio-disk0) report due to enospc\n");
  const addr = (familyCode: number, node: string) => ({ familyCode, node, service: '5900' });
  expect(ev({ type: 'graphics', phaseCode: 0, local: addr(0, '127.0.0.1'), remote: addr(1, '::1'), authScheme: 'vnc', subject: [{ type: 'x509dname', name: 'CN=a' }, { type: 'saslUsername', name: 'u' }] }))
    .toBe("event 'graphics' for domain 'vm1': connect local[IPv4 127.0.0.1 5900] remote[IPv6 ::1 5900] vnc\n\tx509dname=CN=a\n\tsaslUsername=u\n");
  expect(ev({ type: 'control-error' })).toBe("event 'control-error' for domain 'vm1'\n");
  expect(ev({ type: 'pm-suspend-disk', reason: 0 })).toBe("event 'pm-suspend-disk' for domain 'vm1'\n");
  expect(ev({ type: 'block-job', disk: '/o.qcow2', jobTypeCode: 3, statusCode: 2 })).toBe("event 'block-job' for domain 'vm1': Block Commit for /o.qcow2 canceled\n");
  expect(ev({ type: 'block-job-2', disk: 'vda', jobTypeCode: 9, statusCode: 3 })).toBe("event 'block-job-2' for domain 'vm1': Unknown job for vda ready\n");
  expect(ev({ type: 'disk-change', oldSrcPath: '/a.iso', newSrcPath: null, devAlias: 'ide0-0-0', reasonCode: 1 }))
    .toBe("event 'disk-change' for domain 'vm1' disk ide0-0-0: /a.iso -> <null>: dropped\n");
  expect(ev({ type: 'tray-change', devAlias: 'ide0-0-0', reasonCode: 1 })).toBe("event 'tray-change' for domain 'vm1' disk ide0-0-0: closed\n");
  expect(ev({ type: 'balloon-change', actual: 1048576 })).toBe("event 'balloon-change' for domain 'vm1': 1048576KiB\n");
  expect(ev({ type: 'device-removal-failed', devAlias: 'net0' })).toBe("event 'device-removal-failed' for domain 'vm1': net0\n");
  expect(ev({ type: 'tunable', typedParams: [{ field: 'cputune.vcpu0', type: 'string', value: '0-1' }, { field: 'cputune.quota', type: 'llong', value: -1 }] }))
    .toBe("event 'tunable' for domain 'vm1':\n\tcputune.vcpu0: 0-1\n\tcputune.quota: -1\n");
  expect(ev({ type: 'agent-lifecycle', stateCode: 2, reasonCode: 7 })).toBe("event 'agent-lifecycle' for domain 'vm1': state: 'disconnected' reason: 'unsupported value'\n");
  expect(ev({ type: 'migration-iteration', iteration: 3 })).toBe("event 'migration-iteration' for domain 'vm1': iteration: '3'\n");
  expect(ev({ type: 'metadata-change', metadataTypeCode: 2, nsuri: 'http://x/' })).toBe("event 'metadata-change' for domain 'vm1': type element, uri http://x/\n");
  expect(ev({ type: 'block-threshold', dev: 'vda', path: null, threshold: 1024, excess: 12 })).toBe("event 'block-threshold' for domain 'vm1': dev: vda(<null>) 1024 12\n");
  expect(ev({ type: 'memory-failure', recipientCode: 0, actionCode: 3, actionRequired: true, recursive: false }))
    .toBe("event 'memory-failure' for domain 'vm1':\nrecipient: hypervisor\naction: reset\nflags:\n\taction required: 1\n\trecursive: 0\n");
  expect(ev({ type: 'memory-device-size-change', alias: 'virtiomem0', size: 2097152 })).toBe("event 'memory-device-size-change' for domain 'vm1':\nalias: virtiomem0\nsize: 2097152\n");
});

test("typed parameters as virTypedParameterToString prints them: %g for doubles, %d for booleans", () => {
  expect([0, 1, 0.5, 0.1, 1234567, 123456, 1e-5, 0.0001, -2.5e10, 1 / 3, NaN, -Infinity].map(formatG))
    .toEqual(['0', '1', '0.5', '0.1', '1.23457e+06', '123456', '1e-05', '0.0001', '-2.5e+10', '0.333333', 'nan', '-inf']);
  expect(typedParamText({ field: 'success', type: 'boolean', value: true })).toBe('1');
  expect(typedParamText({ field: 'disk_total', type: 'ullong', value: 67108864 })).toBe('67108864');
});

test('pretty JSON keeps every token and lays out nested values as json-c does', () => {
  expect(prettyJson('{"a":1,"b":[1,{"c":"x\\"y"},[]],"d":{},"big":18446744073709551615}')).toBe(
    '{\n  "a": 1,\n  "b": [\n    1,\n    {\n      "c": "x\\"y"\n    },\n    []\n  ],\n  "d": {},\n  "big": 18446744073709551615\n}\n',
  );
  expect(prettyJson('[]')).toBe('[]\n');
  expect(prettyJson('{"a":')).toBeNull();
  expect(prettyJson('{"a":1}}')).toBeNull();
});

test("--timestamp is virTimeStringNowRaw's UTC with milliseconds", () => {
  expect(virshTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 67)))).toBe('2026-01-02 03:04:05.067+0000');
});
