// Starts dynalite (DynamoDB's API, in memory) or s3rver (S3's API over a
// directory) on loopback only. Both CLIs would bind every interface, and
// dynalite's treats port 0 as "use 4567"; this script binds 127.0.0.1 and
// lets the OS pick a free port.
//
// Usage: node emulators.js dynalite|s3rver port [dir]
//   port 0: the OS picks one.
//   dir: s3rver's buckets and objects (required for s3rver).
// Prints one line "<kind> listening on 127.0.0.1:PORT" when ready; the Go
// harness (internal/emulator) reads the port from it. Exits with status 3
// when the port is in use, and when its stdin closes, so a parent that dies
// without cleaning up leaves no orphan server.
'use strict'

const kind = process.argv[2]
const port = parseInt(process.argv[3] || '0', 10)
const dir = process.argv[4] || ''
if (Number.isNaN(port) || port < 0 || port > 65535) {
  console.error('emulators.js: bad port ' + process.argv[3])
  process.exit(2)
}

// A client that drops a request in flight (a call timeout, a cancelled
// context) concerns only that request: keep serving.
const clientGone = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'])
process.on('uncaughtException', (err) => {
  if (err && (clientGone.has(err.code) || err.message === 'aborted')) return
  console.error('emulators.js: ' + (err && err.stack ? err.stack : err))
  process.exit(1)
})

function failed (err) {
  if (err && err.code === 'EADDRINUSE') {
    console.error('emulators.js: port ' + port + ' on 127.0.0.1 is in use')
    process.exit(3)
  }
  console.error('emulators.js: ' + (err && err.message ? err.message : err))
  process.exit(1)
}

function ready (p) {
  console.log(kind + ' listening on 127.0.0.1:' + p)
}

let close = (done) => done()
if (kind === 'dynalite') {
  // Zero delays: tables become ACTIVE at once, so tests wait on a state,
  // not a clock.
  const server = require('dynalite')({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  server.on('error', failed)
  server.listen(port, '127.0.0.1', () => ready(server.address().port))
  close = (done) => server.close(done)
} else if (kind === 's3rver') {
  if (!dir) failed(new Error('s3rver needs a directory'))
  const S3rver = require('s3rver')
  const server = new S3rver({ address: '127.0.0.1', port, directory: dir, silent: true })
  server.run().then((addr) => ready(addr.port), failed)
  close = (done) => server.close(done)
} else {
  console.error('emulators.js: unknown kind ' + kind + ' (dynalite or s3rver)')
  process.exit(2)
}

function stop () {
  close(() => process.exit(0))
  // close waits for open keep-alive connections; do not wait for ever.
  setTimeout(() => process.exit(0), 2000).unref()
}

process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
