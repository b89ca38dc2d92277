// Time from submitting a query with a syntax error (POST /api/v1/queries) until its FAILED state is
// known to the client, over N submissions on one keep-alive connection. Prints a Markdown table row.
// Usage: node fast_fail.mjs URL TOKEN N
const [url, token, count] = process.argv.slice(2);
const samples = [];
for (let i = 0; i < Number(count); i++) {
  const start = performance.now();
  const response = await fetch(`${url}/api/v1/queries`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql: `SELEC event_type FROM bench.events -- ${i}` }),
  });
  const body = await response.json();
  const elapsed = performance.now() - start;
  if (body.state !== 'FAILED') throw new Error(`expected FAILED, got ${JSON.stringify(body)}`);
  samples.push(elapsed);
}
samples.sort((a, b) => a - b);
const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
console.log(`| syntax error -> FAILED (${samples.length} submissions) | ${at(0.5).toFixed(2)} | ${at(0.99).toFixed(2)} | ${samples[samples.length - 1].toFixed(2)} |`);
