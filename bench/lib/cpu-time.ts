/**
 * CPU time (user + sys) of processes, read from /proc, which stays meaningful when other work
 * loads the machine and wall-clock figures do not.
 *
 * - A live process: the sum of /proc/PID/task/TID/schedstat (nanoseconds on the CPU per thread; the
 *   threads of a Node process that has just started are all still alive).
 * - Processes that have exited: cutime + cstime of their parent (/proc/PPID/stat), which the kernel
 *   adds up in nanoseconds as it reaps each child and reports in clock ticks. A difference over many
 *   children is exact to one tick in total, so a batch of 40 starts gives a figure per start to
 *   ~0.25 ms. Only children the parent has reaped count: take the reading after waiting for them.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

let ticksPerSecond: number | undefined

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** CPU ms of the reaped children of `pid` (default: this process), or NaN if it cannot be read. */
export function reapedChildrenCpuMs(pid: number | 'self' = 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks()
  } catch {
    return NaN
  }
}

/** CPU ms a live process has used so far, all its live threads, or NaN if it is gone. */
export function liveProcessCpuMs(pid: number): number {
  let nanos = 0
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    return NaN
  }
  return nanos / 1e6
}
