/**
 * CPU time of other processes and of the whole machine, from /proc (Linux).
 *
 * A process's time is the sum of its threads' run time in /proc/<pid>/task/<tid>/schedstat (nanoseconds, so a
 * round of 100 ms is measured to the microsecond); /proc/<pid>/stat (user + system in clock ticks of 10 ms)
 * is the fallback where schedstat is missing. The machine's busy time comes from /proc/stat.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

const TICK_NS = 1e9 / 100; // USER_HZ is 100 on Linux

const HAVE_SCHEDSTAT = fs.existsSync('/proc/self/schedstat');

/**
 * CPU time in ns used so far by the live threads of `pid` (0 when the process is gone). A thread that ended
 * takes its time with it; the daemons measured here keep their worker threads.
 */
export function processCpuNs(pid: number): number {
  if (!HAVE_SCHEDSTAT) return statCpuNs(pid);
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  let total = 0;
  for (const tid of tids) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return total;
}

/** utime + stime of `pid` from /proc/<pid>/stat, in ns (clock-tick resolution). */
export function statCpuNs(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_NS; // fields 14 and 15 of the whole line
  } catch {
    return 0;
  }
}

/** Busy and total CPU time of the whole machine so far, in ns (from /proc/stat's first line). */
export function machineCpuNs(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already counted in user)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + v[4];
  return { busy: (total - idle) * TICK_NS, total: total * TICK_NS };
}

/** Logical CPUs of this machine. */
export const CORES = os.availableParallelism?.() ?? os.cpus().length;
