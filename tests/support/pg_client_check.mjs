// Drives loch's PostgreSQL protocol with the unmodified npm `pg` client (node-postgres), asserting
// what an application relies on: SCRAM login, parameters through the extended protocol, named
// prepared statements, type OIDs and parsed values, SQLSTATE codes and positions, writes, and that
// a malformed message closes only its own connection. Exits non-zero on the first failure.
// Uses pg-cursor (from node-postgres) for row-limited Execute.
// Usage: node pg_client_check.mjs HOST PORT USER PASSWORD
import assert from 'node:assert/strict';
import pg from 'pg';
import Cursor from 'pg-cursor';

const [host, port, user, password] = process.argv.slice(2);
const config = { host, port: Number(port), user, password, database: 'lake' };

async function connect(overrides = {}) {
  const client = new pg.Client({ ...config, ...overrides });
  await client.connect();
  return client;
}

async function expectError(promise, code) {
  try {
    await promise;
  } catch (error) {
    assert.equal(error.code, code, `expected SQLSTATE ${code}, got ${error.code}: ${error.message}`);
    return error;
  }
  assert.fail(`expected an error with SQLSTATE ${code}`);
}

const client = await connect();

// Parameters ($1, $2) go through Parse/Bind/Execute.
{
  const result = await client.query(
    'SELECT n, label FROM demo.numbers WHERE n = $1 OR label = $2 ORDER BY n', [42, 'item 7']);
  assert.deepEqual(result.rows, [{ n: '7', label: 'item 7' }, { n: '42', label: 'item 42' }]);
  assert.equal(result.command, 'SELECT');
  assert.equal(result.rowCount, 2);
  // A parameter is data, never SQL.
  const hostile = await client.query('SELECT count(*) AS c FROM demo.numbers WHERE label = $1',
    ["x' OR '1'='1"]);
  assert.equal(hostile.rows[0].c, '0');
  const nulls = await client.query('SELECT $1::INTEGER IS NULL AS missing', [null]);
  assert.equal(nulls.rows[0].missing, true);
}

// A named prepared statement, parsed once and executed many times.
for (const n of [1, 2500, 5000]) {
  const result = await client.query({
    name: 'one_number', text: 'SELECT n * 2 AS twice FROM demo.numbers WHERE n = $1', values: [n],
  });
  assert.equal(result.rows[0].twice, String(n * 2));
}

// A cursor reads a big result in batches: Execute with a row limit, PortalSuspended, Execute again.
{
  const cursor = client.query(new Cursor('SELECT n FROM demo.numbers WHERE n > $1 ORDER BY n', [10]));
  const first = await cursor.read(100);
  const second = await cursor.read(100);
  assert.deepEqual(first.map((row) => Number(row.n)), Array.from({ length: 100 }, (_, i) => 11 + i));
  assert.deepEqual(second.map((row) => Number(row.n)), Array.from({ length: 100 }, (_, i) => 111 + i));
  let rest = 0;
  for (let batch = await cursor.read(1000); batch.length > 0; batch = await cursor.read(1000)) {
    rest += batch.length;
  }
  assert.equal(rest, 5000 - 10 - 200);
  await cursor.close();
}

// Type OIDs in RowDescription, and values the client parses by them.
{
  const result = await client.query(`SELECT true AS b, 7::SMALLINT AS s, 8::INTEGER AS i,
      9::BIGINT AS l, 1.5::DOUBLE AS d, 2.25::REAL AS r, 12.34::DECIMAL(10,2) AS m, 'x' AS t,
      DATE '2024-02-29' AS day, TIMESTAMP '2024-02-29 13:14:15.5' AS ts,
      INTERVAL 90 MINUTE AS span, {'a': 1, 'b': [1, 2]} AS nested, NULL::INTEGER AS nothing`);
  const oids = Object.fromEntries(result.fields.map((f) => [f.name, f.dataTypeID]));
  assert.deepEqual(oids, {
    b: 16, s: 21, i: 23, l: 20, d: 701, r: 700, m: 1700, t: 25, day: 1082, ts: 1114, span: 1186,
    nested: 114, nothing: 23,
  });
  const row = result.rows[0];
  assert.equal(row.b, true);
  assert.equal(row.s, 7);
  assert.equal(row.i, 8);
  assert.equal(row.d, 1.5);
  assert.equal(row.m, '12.34');
  assert.ok(row.ts instanceof Date);
  assert.deepEqual(row.nested, { a: 1, b: [1, 2] });
  assert.equal(row.nothing, null);
}

// Errors: SQLSTATE and position (1-based, in characters).
{
  const syntax = await expectError(client.query('SELECT n FROM demo.numbers WHERE'), '42601');
  assert.ok(syntax.message.length > 0);
  const missingTable = await expectError(client.query('SELECT * FROM demo.nope'), '42P01');
  assert.match(missingTable.message, /nope/);
  const column = await expectError(client.query('SELECT nope FROM demo.numbers'), '42703');
  assert.equal(column.position, '8');
  // The connection is still good after errors, in both protocols.
  assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
  assert.equal((await client.query('SELECT $1::INTEGER AS one', [1])).rows[0].one, 1);
}

// Writes: CREATE TABLE AS, INSERT, DROP TABLE, with PostgreSQL's command tags.
{
  const created = await client.query(
    'CREATE TABLE demo.small AS SELECT n FROM demo.numbers WHERE n <= 10');
  assert.equal(created.command, 'SELECT');
  assert.equal(created.rowCount, 10);
  const inserted = await client.query('INSERT INTO demo.small SELECT n FROM demo.numbers WHERE n > $1',
    [4995]);
  assert.equal(inserted.command, 'INSERT');
  assert.equal(inserted.rowCount, 5);
  assert.equal((await client.query('SELECT count(*) AS c FROM demo.small')).rows[0].c, '15');
  const dropped = await client.query('DROP TABLE demo.small');
  assert.equal(dropped.command, 'DROP');
  await expectError(client.query('SELECT * FROM demo.small'), '42P01');
}

// Session statements drivers send are accepted.
for (const statement of ['SET application_name = \'check\'', 'BEGIN', 'COMMIT', 'DISCARD ALL']) {
  await client.query(statement);
}
assert.equal((await client.query('SHOW server_version')).rows[0].server_version.split(' ')[0], '15.0');

// A session holds a bounded number of named prepared statements: one more is refused (53200,
// saying how many it has), and the session goes on.
{
  const many = await connect();
  for (let i = 0; i < 1000; ++i) {
    await many.query({ name: `s${i}`, text: 'SELECT $1::INTEGER AS i', values: [i] });
  }
  const refused = await expectError(
    many.query({ name: 's1000', text: 'SELECT $1::INTEGER AS i', values: [1] }), '53200');
  assert.match(refused.message, /already has 1000 prepared statements/);
  assert.equal((await many.query({ name: 's999', text: 'SELECT $1::INTEGER AS i', values: [7] }))
    .rows[0].i, 7);
  await many.end();
}

// A malformed message (a Query whose length field is 2) closes that connection with an error...
{
  const victim = await connect();
  const closed = new Promise((resolve) => victim.on('error', resolve));
  victim.connection.stream.write(Buffer.from([0x51, 0, 0, 0, 2]));
  const error = await closed;
  assert.ok(error instanceof Error);
}
// A length far beyond any message loch accepts is refused the same way, without allocating it.
{
  const victim = await connect();
  const closed = new Promise((resolve) => victim.on('error', resolve));
  victim.connection.stream.write(Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]));
  assert.ok((await closed) instanceof Error);
}
// ...and nobody else's: this client and new ones go on.
assert.equal((await client.query('SELECT count(*) AS c FROM demo.numbers')).rows[0].c, '5000');
const again = await connect();
assert.equal((await again.query('SELECT 2 AS two')).rows[0].two, 2);
await again.end();

// Wrong password and unknown user: 28P01, same message shape for both.
await expectError(connect({ password: 'wrong' }), '28P01');
await expectError(connect({ user: 'mallory' }), '28P01');

await client.end();
console.log('pg client check passed');
