// make bench (orchestrate): the orchestrator of `loch serve`, measured on this machine.
//  1. Drain: N trivial job runs (SELECT 1 into a table: a Parquet file and a commit each) queued at
//     once over /api/v1/runs, spread over 10 jobs, run by `loch serve --max-workers 2` in worker
//     processes (process start included). Baseline, side by side: the same runs as one `loch job
//     run` process after another (what a cron script would do).
//  2. Trigger latency: a commit to a job's source (`loch load`) -> the dependent job's run started
//     (debounce 0), from the snapshot's commit time to the run's start time.
//  3. Failure -> webhook: jobs whose query fails when it runs, each run's end (finished time) to the
//     moment a local receiver holds its signed webhook (loch serve --failure-webhook), p50 and p99.
// Medians over ROUNDS rounds. Usage: node orchestrate.mjs LOCH_BINARY WORK_DIR RUNS ROUNDS
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';

const [loch, work, runsArg, roundsArg] = process.argv.slice(2);
const RUNS = Number(runsArg ?? 1000);
const ROUNDS = Number(roundsArg ?? 3);
const JOBS = 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function cli(lake, args) {
  return execFileSync(loch, [...args, '--lake', lake], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Servers still running when the script ends (it threw) are stopped with it.
const servers = new Set();
process.on('exit', () => { for (const child of servers) child.kill('SIGKILL'); });

async function serve(lake, extra = []) {
  const port = await freePort();
  const child = spawn(loch, ['serve', '--lake', lake, '--http', `127.0.0.1:${port}`, '--max-workers', '2', ...extra],
                      { stdio: ['ignore', 'ignore', 'ignore'] });
  servers.add(child);
  child.on('exit', () => servers.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const token = JSON.parse(readFileSync(`${lake}/.loch/admin-credentials.json`, 'utf8')).token;
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${url}/health`)).ok) break; } catch { }
    await sleep(50);
  }
  const api = async (path, body) => {
    const response = await fetch(`${url}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  return { api, stop: () => new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); }) };
}

function newLake(name) {
  const lake = `${work}/${name}`;
  rmSync(lake, { recursive: true, force: true });
  cli(lake, ['init']);
  for (let j = 0; j < JOBS; j++) {
    cli(lake, ['job', 'create', `t${j}`, '--sql', 'SELECT 1 AS x', '--target', `db.t${j}`]);
  }
  return lake;
}

async function drainRound(round) {
  const lake = newLake(`drain-${round}`);
  const { api, stop } = await serve(lake);
  const start = performance.now();
  for (let i = 0; i < RUNS; i++) await api('/api/v1/runs', { job: `t${i % JOBS}` });
  let done = 0;
  while (done < RUNS) {
    await sleep(100);
    const { runs } = await api(`/api/v1/runs?limit=${RUNS}`);
    done = runs.filter((run) => run.state === 'SUCCEEDED').length;
    const failed = runs.filter((run) => run.state === 'FAILED');
    if (failed.length > 0) throw new Error(`a run failed: ${JSON.stringify(failed[0])}`);
  }
  const orchestrated = RUNS / ((performance.now() - start) / 1000);
  await stop();

  // Baseline: one `loch job run` process after another, a tenth of the runs (it is slow).
  const baselineRuns = Math.max(10, Math.floor(RUNS / 10));
  const cliLake = newLake(`cli-${round}`);
  const cliStart = performance.now();
  for (let i = 0; i < baselineRuns; i++) cli(cliLake, ['job', 'run', `t${i % JOBS}`]);
  const sequential = baselineRuns / ((performance.now() - cliStart) / 1000);
  rmSync(lake, { recursive: true, force: true });
  rmSync(cliLake, { recursive: true, force: true });
  return { orchestrated, sequential };
}

async function latencyRound(round, commits) {
  const lake = `${work}/latency-${round}`;
  rmSync(lake, { recursive: true, force: true });
  cli(lake, ['init']);
  const file = `${work}/row.json`;
  writeFileSync(file, '{"id": 1}\n');
  cli(lake, ['load', file, '--table', 'raw.src', '--allow-duplicates']);
  cli(lake, ['job', 'create', 'dep', '--sql', 'SELECT count(*) AS n FROM raw.src', '--target', 'db.dep',
             '--mode', 'replace-partitions', '--on-update', '--debounce', '0']);
  const { api, stop } = await serve(lake);
  const samples = [];
  for (let i = 0; i < commits; i++) {
    cli(lake, ['load', file, '--table', 'raw.src', '--allow-duplicates']);
    let run;
    for (let t = 0; t < 200 && !run; t++) {
      await sleep(20);
      const { runs } = await api('/api/v1/runs?name=dep&limit=1');
      if (runs[0] && runs[0].state === 'SUCCEEDED' && runs.length > 0 && (runs[0].run_id === i + 1)) run = runs[0];
    }
    if (!run) throw new Error(`commit ${i} started no run`);
    const table = await api(`/api/v1/tables/raw.src?snapshots=100`);
    const snapshot = table.snapshots.find((s) => s.snapshot_id === run.trigger_detail.snapshot);
    const committed = Date.parse(snapshot.committed_at) * 1000 + Number(snapshot.committed_at.slice(23, 26) || 0);
    samples.push((run.started_micros - committed) / 1000);
  }
  await stop();
  rmSync(lake, { recursive: true, force: true });
  return median(samples);
}

async function failureRound(round, failures) {
  const lake = `${work}/failure-${round}`;
  rmSync(lake, { recursive: true, force: true });
  cli(lake, ['init']);
  cli(lake, ['job', 'create', 'broken', '--sql', "SELECT CAST('x' || range AS INTEGER) AS v FROM range(3)",
             '--target', 'db.broken', '--max-attempts', '1']);
  const received = new Map();  // run id -> arrival (ms since epoch)
  const receiver = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const event = JSON.parse(body);
      if (event.event === 'run_failed') received.set(event.run.run_id, Date.now());
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${receiver.address().port}/hook`;
  const { api, stop } = await serve(lake, ['--failure-webhook', hook]);
  const samples = [];
  for (let i = 0; i < failures; i++) {
    const run = await api('/api/v1/runs', { job: 'broken' });
    let ended;
    for (let t = 0; t < 500 && !(ended && received.has(run.run_id)); t++) {
      await sleep(10);
      ended = await api(`/api/v1/runs/${run.run_id}`);
      if (ended.state !== 'FAILED') ended = undefined;
    }
    if (!ended || !received.has(run.run_id)) throw new Error(`run ${run.run_id}: no failure webhook`);
    samples.push(received.get(run.run_id) - ended.finished_micros / 1000);
  }
  await stop();
  receiver.close();
  rmSync(lake, { recursive: true, force: true });
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length / 2)], p99: samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))] };
}

mkdirSync(work, { recursive: true });
const drains = [];
const latencies = [];
const failures = [];
for (let round = 0; round < ROUNDS; round++) {
  drains.push(await drainRound(round));
  latencies.push(await latencyRound(round, 15));
  failures.push(await failureRound(round, 100));
}
const orchestrated = median(drains.map((d) => d.orchestrated));
const sequential = median(drains.map((d) => d.sequential));
console.log(`| measure (median of ${ROUNDS} rounds) | value | target |`);
console.log('|---|---|---|');
console.log(`| ${RUNS} queued trivial runs, loch serve --max-workers 2 | ${orchestrated.toFixed(1)} runs/s | >= 20 runs/s |`);
console.log(`| same runs, one \`loch job run\` process after another (baseline) | ${sequential.toFixed(1)} runs/s | |`);
console.log(`| ratio orchestrated / sequential CLI | ${(orchestrated / sequential).toFixed(2)} | |`);
console.log(`| commit -> dependent run started, p50 (debounce 0) | ${median(latencies).toFixed(0)} ms | <= 1000 ms |`);
console.log(`| run failed -> webhook received, p50 | ${median(failures.map((f) => f.p50)).toFixed(1)} ms | |`);
console.log(`| run failed -> webhook received, p99 (100 failures a round) | ${median(failures.map((f) => f.p99)).toFixed(1)} ms | <= 1000 ms |`);
