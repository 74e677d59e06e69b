// What a Node.js program does with streamsql through node-postgres (pg, pinned by the repository's
// package-lock.json). node-postgres turns int2, int4, float4, float8, bool, date and timestamp
// results into JavaScript values and leaves int8 and numeric as strings (a JavaScript number
// cannot hold every int8), so a server that sends an integer literal as int8 gives programs
// "1" where Postgres gives 1. Parameters go out as text with no type (OID 0), typed by the server
// from where they are used; a Date as '2026-01-03T00:00:00.000+00:00' (local time: run with
// TZ=UTC), a Buffer as '\x...' (bytea's hex form).
//
// Over the dataset of tests/client_orders_test.go; the answers are what Postgres gives. Each check
// prints "ok NAME" or "FAIL NAME: why"; "done" comes last.
//
// Usage: TZ=UTC node node_pg_checks.js HOST PORT

'use strict';

const assert = require('node:assert/strict');
const { Client, DatabaseError } = require('pg');

async function main() {
  const client = new Client({
    host: process.argv[2],
    port: Number(process.argv[3]),
    user: 'tester',
    database: 'streamsql',
    ssl: false,
    connectionTimeoutMillis: 10000,
  });
  await client.connect();

  async function check(name, fn) {
    try {
      await fn();
      console.log('ok ' + name);
    } catch (e) {
      const why = e instanceof DatabaseError ? `SQLSTATE ${e.code} ${e.message}` : `${e.name} ${e.message}`;
      console.log(`FAIL ${name}: ${why.replace(/\s+/g, ' ')}`);
    }
  }
  const rows = async (text, values) => (await client.query(text, values)).rows;
  const ids = async (where, values) =>
    (await rows(`SELECT id FROM orders_v WHERE ${where} ORDER BY id`, values)).map((r) => r.id);

  await check('SELECT 1 is a number', async () => {
    assert.deepEqual(await rows('SELECT 1 AS one'), [{ one: 1 }]);
  });

  await check('negative literal is a number', async () => {
    assert.deepEqual(await rows('SELECT -7 AS neg'), [{ neg: -7 }]);
  });

  await check('integer arithmetic is BIGINT, a string', async () => {
    // Expressions compute as MySQL 8 does: integer arithmetic is BIGINT (int8),
    // which node-postgres leaves as a string, where Postgres would give int4
    // (docs/sql.md, Postgres compatibility). Cast to int for a number.
    assert.deepEqual(await rows('SELECT 2 + 3 AS five'), [{ five: '5' }]);
    assert.deepEqual(await rows('SELECT id * 10 AS x FROM orders_v WHERE id = 2'), [{ x: '20' }]);
    assert.deepEqual(await rows('SELECT (id * 10)::int AS x FROM orders_v WHERE id = 2'), [{ x: 20 }]);
  });

  await check('literal beyond 32 bits is a string', async () => {
    // Postgres types 5000000000 as int8, which node-postgres leaves as a string.
    assert.deepEqual(await rows('SELECT 5000000000 AS big'), [{ big: '5000000000' }]);
  });

  await check('INT column is numbers', async () => {
    assert.deepEqual(await ids('id > 0', []), [1, 2, 3, 4, 5, 6]);
  });

  await check('BIGINT column is strings', async () => {
    const got = await rows('SELECT qty FROM orders_v WHERE id <= 2 ORDER BY id');
    assert.deepEqual(got, [{ qty: '3' }, { qty: '5000000000' }]);
  });

  await check('COUNT(*) is a string', async () => {
    // COUNT(*) is bigint in Postgres.
    assert.deepEqual(await rows('SELECT COUNT(*) AS n FROM orders_v'), [{ n: '6' }]);
  });

  await check('other result types', async () => {
    const [r] = await rows('SELECT customer, ts, day, price, paid, score, tag FROM orders_v WHERE id = 3');
    assert.deepEqual(r, {
      customer: 'ann',
      ts: new Date(Date.UTC(2026, 0, 2, 9, 15, 0, 250)),
      day: new Date(Date.UTC(2026, 0, 2)), // a date is midnight local time (TZ=UTC)
      price: '100.00',
      paid: true,
      score: -0.5,
      tag: Buffer.from('a3'),
    });
  });

  await check('field type OIDs', async () => {
    // What Postgres describes for these columns: int4, int8, varchar, numeric, bool, int8 (COUNT).
    const oids = async (text) => (await client.query(text)).fields.map((f) => [f.name, f.dataTypeID]);
    assert.deepEqual(await oids('SELECT id, qty, customer, price, paid FROM orders_v WHERE id = 1'),
      [['id', 23], ['qty', 20], ['customer', 1043], ['price', 1700], ['paid', 16]]);
    assert.deepEqual(await oids('SELECT COUNT(*) AS n, 1 AS one FROM orders_v'), [['n', 20], ['one', 23]]);
  });

  await check('null parameter', async () => {
    assert.deepEqual(await ids('paid IS NOT DISTINCT FROM $1', [null]), [6]);
  });

  await check('string and integer parameters', async () => {
    assert.deepEqual(await ids('customer = $1 AND qty >= $2', ['ann', 1]), [1, 3]);
  });

  await check('bigint parameter', async () => {
    assert.deepEqual(await ids('qty = $1', ['5000000000']), [2]);
  });

  await check('Date parameters', async () => {
    const from = new Date(Date.UTC(2026, 0, 1, 11));
    const to = new Date(Date.UTC(2026, 0, 3));
    assert.deepEqual(await ids('ts >= $1 AND ts < $2', [from, to]), [2, 3, 4]);
  });

  await check('date parameter', async () => {
    assert.deepEqual(await ids('day = $1', ['2026-01-02']), [3, 4]);
  });

  await check('boolean parameter', async () => {
    assert.deepEqual(await ids('paid = $1', [false]), [2, 4]);
  });

  await check('numeric parameter', async () => {
    assert.deepEqual(await ids('price = $1', ['12.50']), [1, 5]);
  });

  await check('float parameter', async () => {
    assert.deepEqual(await ids('score > $1', [1.0]), [1, 2, 4]);
  });

  await check('Buffer parameter', async () => {
    assert.deepEqual(await ids('tag = $1', [Buffer.from('b2')]), [2]);
  });

  await check('parameters with casts', async () => {
    // ::int is int4: a number.
    assert.deepEqual(await rows('SELECT $1::int AS i, $2::text AS t, $3::bigint AS b', [2, "d'arcy", 7]),
      [{ i: 2, t: "d'arcy", b: '7' }]);
  });

  await check('arithmetic on int parameters is BIGINT', async () => {
    // int4 + int4 is BIGINT, as in MySQL 8 (int4 in Postgres).
    assert.deepEqual(await rows('SELECT $1::int + $2::int AS sum', [2, 3]), [{ sum: '5' }]);
  });

  await check('named prepared statement', async () => {
    const q = (who) => ({
      name: 'by_customer',
      text: 'SELECT id FROM orders_v WHERE customer = $1 ORDER BY id',
      values: [who],
    });
    const got = [];
    for (const who of ['bob', "d'arcy", 'nobody']) {
      got.push((await client.query(q(who))).rows.map((r) => r.id));
    }
    assert.deepEqual(got, [[2, 5], [6], []]);
  });

  await check('connection still usable', async () => {
    assert.deepEqual(await rows("SELECT 'yes' AS alive"), [{ alive: 'yes' }]);
  });

  await client.end();
  console.log('done');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
