// Starts kinesalite (a Kinesis-compatible server) on loopback only. The
// kinesalite CLI binds every interface; this script binds 127.0.0.1 so
// nothing in tests or the demo is reachable from outside the machine.
//
// Usage: node kinesalite.js [port [dir]]
//   port 0 or absent: the OS picks one.
//   dir: keep the streams in LevelDB there (kinesalite's leveldown, from its
//   prebuilt binary), so a restart on the same dir finds them; absent, or
//   where leveldown has no prebuilt binary (it says so first): in memory.
// Exits with status 3 when the port or the dir stays in use.
// Prints one line "kinesalite listening on 127.0.0.1:PORT" when ready; the Go
// harness (internal/emulator) reads the port from it. Exits when its stdin
// closes, so a parent that dies without cleaning up leaves no orphan server.
'use strict'

const kinesalite = require('kinesalite')

const port = parseInt(process.argv[2] || '0', 10)
if (Number.isNaN(port) || port < 0 || port > 65535) {
  console.error('kinesalite.js: bad port ' + process.argv[2])
  process.exit(2)
}
let dir = process.argv[3] || ''

// An emulator that held the same port or dir may still be exiting (its
// parent was killed and it saw stdin close): both are retried for this long.
const busyMs = 10000
const started = Date.now()
let server

// kinesalite rethrows a request's 'error' event (index.js: req.on('error',
// function (err) { throw err })), so a client that drops a request in flight
// (a call timeout, a cancelled context, a process shutting down) would kill
// the emulator and every later call would be refused. A dropped request
// concerns only that request: log it and keep serving.
// The log says the first drop and then one line per 100, so a client that
// cancels many calls does not flood the test's output.
const clientGone = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'])
let dropped = 0
process.on('uncaughtException', (err) => {
  if (err && (clientGone.has(err.code) || err.message === 'aborted')) {
    dropped++
    if (dropped === 1 || dropped % 100 === 0) {
      console.error('kinesalite.js: client dropped a request (' + dropped + ' so far): ' + err.message)
    }
    return
  }
  console.error('kinesalite.js: ' + (err && err.stack ? err.stack : err))
  process.exit(1)
})

// LevelDB allows one process per dir, and kinesalite opens it only after it
// listens, failing later with an uncaught error; so the dir is tried here
// first, and the server listens once it is free.
function openDir (then) {
  if (!dir) return then()
  let leveldown
  try {
    leveldown = require('leveldown')
  } catch (err) {
    // No prebuilt binary for this platform (npm ci runs no build scripts):
    // keep serving, in memory, and say so (the Go side reads this line).
    console.log('kinesalite.js: in memory: leveldown cannot load here: ' + String(err.message).split('\n')[0])
    dir = ''
    return then()
  }
  const db = leveldown(dir)
  db.open((err) => {
    if (!err) return db.close(then)
    if (Date.now() - started > busyMs) {
      console.error('kinesalite.js: data directory ' + dir + ' is in use: ' + err.message)
      process.exit(3)
    }
    setTimeout(() => openDir(then), 100)
  })
}

function listen () {
  // Zero delays: streams become ACTIVE at once, so tests wait on a state, not a clock.
  const opts = { createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 }
  if (dir) opts.path = dir
  server = kinesalite(opts)
  server.on('error', (err) => {
    if (err.code === 'EADDRINUSE' && Date.now() - started <= busyMs) {
      setTimeout(() => server.listen(port, '127.0.0.1'), 100)
      return
    }
    if (err.code === 'EADDRINUSE') {
      console.error('kinesalite.js: port ' + port + ' on 127.0.0.1 is in use')
      process.exit(3)
    }
    console.error('kinesalite.js: ' + err.message)
    process.exit(1)
  })
  server.on('listening', () => {
    console.log('kinesalite listening on 127.0.0.1:' + server.address().port)
  })
  server.listen(port, '127.0.0.1')
}

openDir(listen)

function stop () {
  if (!server) process.exit(0)
  server.close(() => process.exit(0))
  // close waits for open keep-alive connections; do not wait for ever.
  setTimeout(() => process.exit(0), 2000).unref()
}

process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
