// Starts kinesalite (an in-memory Kinesis-compatible server) on loopback only.
// The kinesalite CLI binds every interface; this script binds 127.0.0.1 so
// nothing in tests or the demo is reachable from outside the machine.
//
// Usage: node kinesalite.js [port]   (port 0 or absent: the OS picks one)
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

// Zero delays: streams become ACTIVE at once, so tests wait on a state, not a clock.
const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 })

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

server.on('error', (err) => {
  console.error('kinesalite.js: ' + err.message)
  process.exit(1)
})

server.listen(port, '127.0.0.1', () => {
  const addr = server.address()
  console.log('kinesalite listening on 127.0.0.1:' + addr.port)
})

function stop () {
  server.close(() => process.exit(0))
  // close waits for open keep-alive connections; do not wait for ever.
  setTimeout(() => process.exit(0), 2000).unref()
}

process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
