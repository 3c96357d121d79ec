// What the bench scripts share: CPU pinning, stopping a server child, and reading a process's CPU time and peak RSS.
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import os from "node:os"

/** Whether servers can be pinned to CPU 1 and the load to CPU 0 (taskset present, more than one CPU). */
export const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-c", "0", "true"])
    return os.cpus().length > 1
  } catch {
    return false
  }
})()

/** SIGTERM, then SIGKILL after 10 s; resolves when the child has exited. */
export const stopServer = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.removeAllListeners("exit")
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** User + system CPU time of a process so far, in microseconds (from /proc). */
export const procCpuMicros = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6
}

/** Peak resident set size of a process, in MiB (from /proc). */
export const procPeakRssMiB = (pid) =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024
