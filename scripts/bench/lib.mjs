// What the bench scripts share: CPU pinning, stopping a server child, and reading a process's CPU time and peak RSS.
import autocannon from "autocannon"
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import net from "node:net"
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
 * the bad count and every response time (float ms, sorted). `options.onBad(status, body)`, when given, sees each bad
 * response (to print a few).
 */
export const load = (url, prepared, connections, seconds, text, options = {}) =>
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
            if (status !== 200 || !text.includes(`"id":${ctx.id}`) || !text.includes(needle)) {
              mismatches++
              options.onBad?.(status, text)
            }
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

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close): for servers that cannot report the port they took. */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** Resolves once something accepts TCP connections at host:port; rejects after `timeoutMs`. */
export const waitForPort = (port, host = "127.0.0.1", timeoutMs = 20_000) =>
  new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs
    const attempt = () => {
      const socket = net.connect({ port, host })
      socket.once("connect", () => {
        socket.destroy()
        resolve()
      })
      socket.once("error", () => {
        socket.destroy()
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`))
        else setTimeout(attempt, 50)
      })
    }
    attempt()
  })

/** The start time of a process (field 22 of /proc/PID/stat), or undefined when it is gone: tells a pid's reuse apart. */
const procStart = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return fields[0] === "Z" ? undefined : fields[19]
  } catch {
    return undefined
  }
}

/** Every live descendant of a process (children, grandchildren, ...), as { pid, start }, from /proc. */
export const descendants = (root) => {
  const parent = new Map()
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8")
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]))
    } catch {
      // gone meanwhile
    }
  }
  const found = []
  const frontier = [root]
  while (frontier.length > 0) {
    const pid = frontier.pop()
    for (const [child, ppid] of parent) {
      if (ppid === pid) {
        found.push(child)
        frontier.push(child)
      }
    }
  }
  return found.map((pid) => ({ pid, start: procStart(pid) })).filter((p) => p.start !== undefined)
}

/**
 * Stops a child spawned with `detached: true` (its own process group) and everything it started, even children that
 * moved to process groups of their own: records its descendants first, SIGTERMs it, waits up to `graceMs` for it
 * to exit, then SIGKILLs its group and each recorded descendant still alive (same pid and start time). Resolves with
 * the number of processes that had to be SIGKILLed.
 */
export const stopTree = async (child, graceMs = 5_000) => {
  const tree = child.pid === undefined ? [] : descendants(child.pid)
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve))
    try {
      child.kill("SIGTERM")
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))])
  }
  let killed = 0
  const kill = (pid) => {
    try {
      process.kill(pid, "SIGKILL")
      killed++
    } catch {
      // gone
    }
  }
  if (child.exitCode === null && child.signalCode === null) kill(child.pid)
  try {
    process.kill(-child.pid, "SIGKILL")
  } catch {
    // no group left
  }
  // Give the descendants the rest of the grace time to leave after their parent, then make sure.
  const deadline = Date.now() + 2_000
  while (tree.some((p) => procStart(p.pid) === p.start) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
  }
  for (const p of tree) if (procStart(p.pid) === p.start) kill(p.pid)
  return killed
}

/** Current resident set size of a process, in MiB (from /proc). */
export const procRssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024
