// Clients for the query-service benchmarks (bench/run_pgwire.sh), speaking to loch and to PostgreSQL
// with the npm `pg` client exactly as an application would.
//
//   node pg_bench.mjs latency CONNINFO_JSON SECONDS CLIENTS TABLE
//       CLIENTS connections each run named prepared statements back to back for SECONDS per
//       statement: a point query by id and a small aggregate over one user's rows. Prints JSON
//       {"point": {p50, p99, qps}, "aggregate": {...}} (milliseconds, queries per second).
//   node pg_bench.mjs once CONNINFO_JSON SQL       one query on a fresh connection; prints its ms
//       (connection set up first, not timed).
import pg from 'pg';

const [mode, ...args] = process.argv.slice(2);

function summary(samples, seconds) {
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: at(0.5), p99: at(0.99), qps: samples.length / seconds, count: samples.length };
}

async function latency(conninfo, seconds, clients, table) {
  const statements = {
    point: { name: 'point', text: `SELECT * FROM ${table} WHERE id = $1`, value: (i) => (i * 7919) % 100000 },
    aggregate: {
      name: 'aggregate',
      text: `SELECT day, count(*) AS n, sum(amount) AS total FROM ${table} WHERE user_id = $1 GROUP BY day ORDER BY day`,
      value: (i) => i % 1000,
    },
  };
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new pg.Client(conninfo);
      await client.connect();
      return client;
    }));
  const result = {};
  for (const [key, statement] of Object.entries(statements)) {
    // Warm up: prepare on every connection.
    await Promise.all(connections.map((c) => c.query({ name: statement.name, text: statement.text, values: [1] })));
    const samples = [];
    const deadline = performance.now() + seconds * 1000;
    await Promise.all(connections.map(async (client, index) => {
      for (let i = index; performance.now() < deadline; i += clients) {
        const start = performance.now();
        const answer = await client.query({ name: statement.name, text: statement.text, values: [statement.value(i)] });
        if (answer.rows.length === 0 && key === 'point') throw new Error('point query found nothing');
        samples.push(performance.now() - start);
      }
    }));
    result[key] = summary(samples, seconds);
  }
  await Promise.all(connections.map((c) => c.end()));
  return result;
}

if (mode === 'latency') {
  const [conninfo, seconds, clients, table] = args;
  console.log(JSON.stringify(await latency(JSON.parse(conninfo), Number(seconds), Number(clients), table)));
} else if (mode === 'once') {
  const [conninfo, sql] = args;
  const client = new pg.Client(JSON.parse(conninfo));
  await client.connect();
  const start = performance.now();
  await client.query(sql);
  console.log((performance.now() - start).toFixed(3));
  await client.end();
} else {
  console.error('usage: node pg_bench.mjs latency|once ...');
  process.exit(2);
}
