# The oracle for event tests: libvirt's own C client (python3-libvirt) with its default event loop
# (virEventRegisterDefaultImpl, and a thread running virEventRunDefaultImpl), registered for the same events
# the test subscribes to. Prints "READY" once registered, then one JSON line per event:
#   {"family": ..., "type": ..., "object": <name or uuid>, "args": [<callback arguments in order>]}
# and stops when stdin closes. Usage: /usr/bin/python3 py-events.py URI CONFIG_JSON
#   CONFIG_JSON: {"domain": name|null|false, "families": ["network", ...], "qemu": name|null|false}
import json
import sys
import threading

import libvirt
import libvirt_qemu

DOMAIN_EVENTS = [
    "lifecycle", "reboot", "rtc-change", "watchdog", "io-error", "graphics", "io-error-reason",
    "control-error", "block-job", "disk-change", "tray-change", "pm-wakeup", "pm-suspend",
    "balloon-change", "pm-suspend-disk", "device-removed", "block-job-2", "tunable",
    "agent-lifecycle", "device-added", "migration-iteration", "job-completed",
    "device-removal-failed", "metadata-change", "block-threshold", "memory-failure",
    "memory-device-size-change",
]

out_lock = threading.Lock()


def emit(family, kind, obj, args):
    line = json.dumps({"family": family, "type": kind, "object": obj, "args": list(args)}, default=str)
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def callback(family, kind, name_of):
    def cb(conn, obj, *rest):
        emit(family, kind, name_of(obj), rest[:-1])  # the last argument is the opaque
    return cb


def main():
    uri, config = sys.argv[1], json.loads(sys.argv[2])
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open(uri)

    def loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    if config.get("domain") is not False:
        dom = conn.lookupByName(config["domain"]) if config.get("domain") else None
        for i, name in enumerate(DOMAIN_EVENTS):
            conn.domainEventRegisterAny(dom, i, callback("domain", name, lambda d: d.name()), None)
    families = config.get("families", [])
    if "network" in families:
        conn.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, callback("network", "lifecycle", lambda n: n.name()), None)
    if "storage-pool" in families:
        conn.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, callback("storage-pool", "lifecycle", lambda p: p.name()), None)
        conn.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, callback("storage-pool", "refresh", lambda p: p.name()), None)
    if "secret" in families:
        conn.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_LIFECYCLE, callback("secret", "lifecycle", lambda s: s.UUIDString()), None)
        conn.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_VALUE_CHANGED, callback("secret", "value-changed", lambda s: s.UUIDString()), None)
    qemu = config.get("qemu", False)
    if qemu is not False:
        dom = conn.lookupByName(qemu) if qemu else None

        def qcb(conn, d, event, seconds, micros, details, opaque):
            emit("qemu", "monitor-event", d.name(), [event, seconds, micros, details])

        libvirt_qemu.qemuMonitorEventRegister(conn, dom, None, qcb, None, 0)
    emit("control", "ready", None, [])
    sys.stdin.read()


main()
