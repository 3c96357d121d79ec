// What the bench scripts share: CPU pinning, stopping a server child, and reading a process's CPU time and peak RSS.
import autocannon from "autocannon"
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

/**
 * Loads a server with POSTs for `seconds` (autocannon): `prepared.headers`, and `prepared.body(id)` for each request;
 * a response counts as bad unless it is 200 and carries its own id and `text`. Resolves with autocannon's result,
 * the bad count and every response time (float ms, sorted).
 */
export const load = (url, prepared, connections, seconds, text) =>
  new Promise((resolve, reject) => {
    let seq = 1000
    let mismatches = 0
    const needle = JSON.stringify(text)
    const instance = autocannon(
      {
        url,
        method: "POST",
        connections,
        duration: seconds,
        timeout: 10,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...prepared.headers
        },
        requests: [{
          setupRequest: (req, ctx) => {
            ctx.id = ++seq
            req.body = prepared.body(ctx.id)
            return req
          },
          onResponse: (status, body, ctx) => {
            const text = String(body)
            if (status !== 200 || !text.includes(`"id":${ctx.id}`) || !text.includes(needle)) mismatches++
          }
        }]
      },
      (
        error,
        result
      ) => (error ? reject(error) : resolve({ result, mismatches, latencies: latencies.subarray(0, n).sort() }))
    )
    // autocannon's own percentiles are whole milliseconds: keep every response time (float ms) instead.
    const latencies = new Float64Array(2_000_000)
    let n = 0
    instance.on("response", (_client, _status, _bytes, ms) => {
      if (n < latencies.length) latencies[n++] = ms
    })
    setTimeout(() => instance.stop(), (seconds + 20) * 1000).unref()
  })

/** The median of the finite values (NaN when there are none). */
export const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
