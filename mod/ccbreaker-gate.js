// ccbreaker's gate, a Claude Code mod (function hooks; Claude Code 2.1.331 and later). It asks ccbreaker before
// every model request (`turn.step`), subagent (`agent.spawn`), compaction (`session.compact`) and engine send to
// /v1/messages that no step let through (`http.fetch`: retries, side requests), and tells ccbreaker when a request
// has finished and what it cost. ccbreaker decides (`ccbreaker gate`, one JSON object on stdin and one on stdout),
// from the same ledger and by the same rules as its command hooks. This module decides nothing and computes
// nothing: anything but a clear "allow" from ccbreaker (a refusal, an error, no answer in time, an answer it cannot
// read) refuses, through each hook's `.catch` too.
//
// The ccbreaker it runs is the absolute path in hooks/ccbreaker.path under the plugin's folder, written by
// `ccbreaker install` (or ./install.sh for the repository's plugin): never one found on PATH.

// ccbreaker waits at most `policy.wait_ms` (8 s at most) for requests in flight, and its lock 2 s.
const TIMEOUT_MS = 15000
// A finished request's report decides nothing: it may give up sooner.
const REPORT_TIMEOUT_MS = 5000
// How long a subagent's spawn waits for the request of its parent that is still streaming (measured: 6-59 ms).
const SPAWN_WAIT_MS = 2000

let binary
let session
// The request in flight of each agent ("" for the main conversation): resolved once it has finished and ccbreaker
// has its report.
const inflight = new Map()
// Each agent's latest report: its next request waits for it (it is made while the tools run, off the request path).
const reports = new Map()
// Steps ccbreaker let through whose first send has not passed `http.fetch` yet: that send is theirs. A retry (the
// engine numbers them in `x-stainless-retry-count`) is no first send: ccbreaker is asked again.
const credits = new Set()

async function where($) {
  if (binary === undefined) {
    const text = await $.fs.read(`${$.plugin.root}/hooks/ccbreaker.path`)
    binary = text.split("\n")[0].trim()
  }
  if (!binary.startsWith("/")) {
    throw new Error(`${$.plugin.root}/hooks/ccbreaker.path names no absolute path; run \`ccbreaker install\``)
  }
  const id = await $.session.id()
  if (session === undefined || session.id !== id) {
    const info = await $.session.info()
    session = { id, transcript: info.transcriptPath || "" }
  }
  return session
}

// The plan's windows as the client last read them (`[{ kind, percentUsed, resetsAt }]`, empty for an API key; free to
// read): ccbreaker records them as it records the statusline's, which never runs under `claude -p`. None when the
// client cannot say: the budgets are checked all the same.
async function rateLimits($) {
  try {
    return (await $.session.usage()).rateLimits || []
  } catch {
    return []
  }
}

// ccbreaker's answer: `{ allow: true }` (with `model`, the one a subagent is to start on, and `message`, a notice
// for the session), or `{ allow: false, reason }`. Throws when there is none to read.
async function ask($, request, timeoutMs) {
  const s = await where($)
  const run = await $.process.run([binary, "gate"], {
    stdin: JSON.stringify({ ...request, session: s.id, transcript: s.transcript }),
    timeoutMs,
  })
  if (run.exitCode !== 0) {
    throw new Error(`\`ccbreaker gate\` exited ${run.exitCode}: ${run.stderr.trim()}`)
  }
  const answer = JSON.parse(run.stdout)
  if (answer.allow === true) {
    const model = typeof answer.model === "string" && answer.model !== "" ? answer.model : undefined
    const message = typeof answer.message === "string" ? answer.message : ""
    return { allow: true, model, message }
  }
  const reason = typeof answer.reason === "string" && answer.reason !== "" ? answer.reason : ""
  return { allow: false, reason: reason || `ccbreaker refused without a reason: ${run.stdout.trim()}` }
}

function failed(error) {
  const why = error && error.message ? error.message : "no answer"
  return (
    `ccbreaker could not check your budgets (${why}), so this model request was not sent. ` +
    "Run `ccbreaker status` in a terminal to see why."
  )
}

// Answers a model request without sending it: the turn ends with `reason` as its text.
async function* refuse(e, reason) {
  yield { kind: "text", index: 0, text: reason }
  return { turnId: e.turnId, index: e.index, answer: reason, toolUses: [], stopReason: "end_turn", usage: null }
}

function sendsMessages(url) {
  return String(url).split("?")[0].replace(/\/+$/, "").endsWith("/v1/messages")
}

function isRetry(init) {
  const headers = (init && init.headers) || {}
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() === "x-stainless-retry-count") return String(headers[name]).trim() !== "0"
  }
  return false
}

export function register(on) {
  on("turn.step", async function* ($, e, next) {
    const agent = e.agentId || ""
    const step = `${e.turnId}/${e.index}`
    await reports.get(agent)
    const request = { op: "step", agent, step, model: e.model, rate_limits: await rateLimits($) }
    const answer = await ask($, request, TIMEOUT_MS)
    if (!answer.allow) return yield* refuse(e, answer.reason)
    let finish
    const finished = new Promise((resolve) => {
      finish = resolve
    })
    inflight.set(agent, finished)
    credits.add(step)
    const tools = []
    let result = null
    let report = null
    // What the request cost, and the end of what it held, told as soon as the response is whole (its stop chunk),
    // while the engine goes on with it: a failure here changes nothing already sent.
    const tell = (usage) => {
      report = ask($, { op: "end", agent, step, model: e.model, usage, tools }, REPORT_TIMEOUT_MS)
        .catch(() => null)
        .then(() => {
          if (inflight.get(agent) === finished) inflight.delete(agent)
          if (reports.get(agent) === report) reports.delete(agent)
          finish()
        })
      reports.set(agent, report)
    }
    try {
      const stream = next(e)
      for (;;) {
        const piece = await stream.next()
        if (piece.done) {
          result = piece.value
          break
        }
        credits.delete(step)
        if (piece.value.kind === "tool") tools.push(piece.value.id)
        if (piece.value.kind === "stop" && report === null) tell(piece.value.usage)
        yield piece.value
      }
    } finally {
      credits.delete(step)
      if (report === null) tell(result ? result.usage : null)
    }
    return result
  }).catch(async function* ($, e, next) {
    if (next.called) return yield* next(e)
    return yield* refuse(e, failed(next.error))
  })

  on("agent.spawn", async ($, e, next) => {
    const parent = e.parentAgentId || ""
    const busy = inflight.get(parent)
    if (busy !== undefined) await Promise.race([busy, $.clock.sleep(SPAWN_WAIT_MS)])
    const request = { op: "spawn", agent: parent, model: e.model, rate_limits: await rateLimits($) }
    const answer = await ask($, request, TIMEOUT_MS)
    if (!answer.allow) return { deny: answer.reason }
    if (answer.model === undefined) return next(e)
    // Past `policy.downgrade_at`: the subagent starts on the cheaper model, and the session is told (once).
    if (answer.message !== "") $.ui.log(answer.message)
    return next({ ...e, model: answer.model })
  }).catch(($, e, next) => (next.called ? next(e) : { deny: failed(next.error) }))

  on("session.compact", async ($, e, next) => {
    const answer = await ask($, { op: "compact", agent: e.agentId || "" }, TIMEOUT_MS)
    if (!answer.allow) return { skip: answer.reason }
    const token = `compact/${e.agentId || ""}/${e.trigger}`
    credits.add(token)
    try {
      return await next(e)
    } finally {
      credits.delete(token)
    }
  }).catch(($, e, next) => (next.called ? next(e) : { skip: failed(next.error) }))

  on("http.fetch", async ($, e, next) => {
    if (next.origin.plugin !== "engine" || !sendsMessages(e.url)) return next(e)
    const credit = credits.values().next()
    if (!credit.done && !isRetry(e.init)) {
      credits.delete(credit.value)
      return next(e)
    }
    const answer = await ask($, { op: "send", agent: "" }, TIMEOUT_MS)
    return answer.allow ? next(e) : { deny: answer.reason }
  }).catch(($, e, next) =>
    next.called || next.origin.plugin !== "engine" || !sendsMessages(e.url) ? next(e) : { deny: failed(next.error) },
  )
}
