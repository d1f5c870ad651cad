"""The peer of `npm run bench`: libvirt's own C client (python3-libvirt), driven by bench/compare/main.ts.

Reads one JSON command per line on stdin and answers each with one JSON line on stdout. A `run` measures its
own wall time and its own CPU time (user + system of this process and of any children it waited for, e.g. the
`ssh` that libvirt spawns for ssh:// URIs), so the driver can set both against the daemon's CPU time.
Run by /usr/bin/python3 (Debian's python3-libvirt is importable only there).
"""
import json
import resource
import sys
import threading
import time

import libvirt


def cpu_ns():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int((s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime) * 1e9)


def snapshot_xml(i, domain_xml):
    parent = '' if i == 0 else '<parent><name>snap%d</name></parent>' % ((i - 1) // 2)
    return ("<domainsnapshot><name>snap%d</name><description>benchmark snapshot %d</description>"
            "<state>shutoff</state>%s<creationTime>%d</creationTime><memory snapshot='no'/>"
            "<disks><disk name='vda' snapshot='internal'/></disks>%s</domainsnapshot>"
            % (i, i, parent, 1700000000 + i, domain_xml))


class Pool:
    """Threads that share one connection, as a threaded C program would: persistent, so no round pays for
    starting them. Each takes calls from a shared count until none are left."""

    def __init__(self, size):
        self.size = size
        self.start = threading.Barrier(size + 1)
        self.end = threading.Barrier(size + 1)
        self.lock = threading.Lock()
        self.left = 0
        self.fn = None
        self.errors = []
        for _ in range(size):
            threading.Thread(target=self.work, daemon=True).start()

    def work(self):
        while True:
            self.start.wait()
            fn = self.fn
            try:
                while True:
                    with self.lock:
                        if self.left <= 0:
                            break
                        self.left -= 1
                    fn()
            except Exception as e:  # reported by the round
                self.errors.append(str(e))
            self.end.wait()

    def run(self, fn, n):
        self.fn, self.left, self.errors = fn, n, []
        self.start.wait()
        self.end.wait()
        if self.errors:
            raise RuntimeError(self.errors[0])


conns = {}
pools = {}


def call_of(key, name):
    c = conns[key]
    conn, dom = c['conn'], c.get('dom')
    if name == 'libver':
        return conn.getLibVersion
    if name == 'xml':
        return lambda: dom.XMLDesc(0)
    if name == 'listAll':
        return lambda: dom.listAllSnapshots(0)
    if name == 'listNames':
        return lambda: dom.snapshotListNames(0)
    raise ValueError('unknown call %s' % name)


def no_answer(creds, data):
    # SASL rows: auth.conf ($LIBVIRT_AUTH_FILE) holds every credential, so the callback is never asked.
    return -1


# Cyrus SASL offers SCRAM only when the client can be asked for a name and a password.
SASL_AUTH = [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], no_answer, None]


def connect_once(uri, sasl):
    c = libvirt.openAuth(uri, SASL_AUTH, 0) if sasl else libvirt.open(uri)
    c.getLibVersion()
    c.close()


def handle(cmd):
    op = cmd['op']
    if op == 'open':
        conns[cmd['key']] = {'conn': libvirt.open(cmd['uri'])}
        return {}
    if op == 'lookup':
        conns[cmd['key']]['dom'] = conns[cmd['key']]['conn'].lookupByName(cmd['dom'])
        return {}
    if op == 'snapsetup':
        dom = conns[cmd['key']]['dom']
        domain_xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        t0 = time.perf_counter()
        for i in range(cmd['count']):
            dom.snapshotCreateXML(snapshot_xml(i, domain_xml), libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
        if dom.snapshotNum(0) != cmd['count']:
            raise RuntimeError('snapshot set-up made %d snapshots' % dom.snapshotNum(0))
        return {'setupMs': (time.perf_counter() - t0) * 1000}
    if op == 'close':
        conns.pop(cmd['key'])['conn'].close()
        return {}
    if op in ('run', 'connect'):
        n, conc = cmd['n'], cmd.get('conc', 1)
        if op == 'connect':
            uri, sasl = cmd['uri'], cmd.get('sasl', False)
            fn = lambda: connect_once(uri, sasl)
        else:
            fn = call_of(cmd['key'], cmd['call'])
        pool = None
        if conc > 1:
            pool = pools.get(conc) or pools.setdefault(conc, Pool(conc))
        c0, t0 = cpu_ns(), time.perf_counter_ns()
        if pool:
            pool.run(fn, n)
        else:
            for _ in range(n):
                fn()
        t1, c1 = time.perf_counter_ns(), cpu_ns()
        return {'calls': n, 'wallNs': t1 - t0, 'cpuNs': c1 - c0}
    raise ValueError('unknown op %s' % op)


def main():
    print(json.dumps({'ready': True, 'pid': __import__('os').getpid()}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd['op'] == 'exit':
            break
        try:
            out = handle(cmd)
            out['ok'] = True
        except Exception as e:
            out = {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)
    for c in conns.values():
        try:
            c['conn'].close()
        except libvirt.libvirtError:
            pass


main()
