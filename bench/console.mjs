// The console's first paint of a dashboard with 6 tiles over curated.events (the events as
// Parquet, with their day partition column), in headless Chromium:
// from navigation to every tile showing its data (data-status ok), cold (a new browser context:
// nothing cached) and warm (a reload), median of ROUNDS each. Side by side, the floor: the same
// 6 queries through POST /api/v1/query one after another, and all at once.
// Usage: node console.mjs URL LAKE ROUNDS
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [url, lake, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText);
const credentials = JSON.parse(readFileSync(`${lake}/.loch/admin-credentials.json`, "utf8"));
const api = { Authorization: `Bearer ${credentials.token}`, "Content-Type": "application/json" };

const queries = {
  events_per_day:
    "SELECT day, count(*) AS events FROM curated.events " +
    "WHERE day BETWEEN {{from}} AND {{to}} GROUP BY day ORDER BY day",
  purchases_per_day:
    "SELECT day, count(*) AS purchases FROM curated.events " +
    "WHERE event_type = 'purchase' AND day BETWEEN {{from}} AND {{to}} GROUP BY day ORDER BY day",
  by_device:
    "SELECT device, count(*) AS events FROM curated.events " +
    "WHERE day BETWEEN {{from}} AND {{to}} GROUP BY device ORDER BY events DESC",
  sessions:
    "SELECT count(DISTINCT session_id) AS sessions FROM curated.events " +
    "WHERE day BETWEEN {{from}} AND {{to}}",
  by_referrer:
    "SELECT referrer, count(*) AS events FROM curated.events " +
    "WHERE day BETWEEN {{from}} AND {{to}} GROUP BY referrer ORDER BY events DESC",
  top_deals:
    "SELECT deal_id, count(*) FILTER (WHERE event_type = 'purchase') AS purchases, count(*) AS " +
    "events FROM curated.events WHERE day BETWEEN {{from}} AND {{to}} " +
    "GROUP BY deal_id ORDER BY purchases DESC LIMIT 20",
};
const charts = ["line", "bar", "pie", "number", "pie", "table"];

async function call(method, path, body) {
  const response = await fetch(url + path, { method, headers: api, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

for (const [name, sql] of Object.entries(queries)) {
  await call("PUT", `/api/v1/saved-queries/${name}`, { sql, base_version: 0 });
}
const parameters = [
  { name: "from", type: "date", default: "2026-01-01" },
  { name: "to", type: "date", default: "2026-12-31" },
];
await call("PUT", "/api/v1/dashboards/bench", {
  base_version: 0,
  definition: {
    title: "Bench",
    parameters,
    tiles: Object.keys(queries).map((query, i) => ({ id: `t${i}`, title: query, query, chart: charts[i] })),
  },
});

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const bound = (sql) => sql.replaceAll("{{from}}", "DATE '2026-01-01'").replaceAll("{{to}}", "DATE '2026-12-31'");
async function apiRound(parallel) {
  const start = performance.now();
  const one = (sql) => call("POST", "/api/v1/query", { sql: bound(sql) });
  if (parallel) await Promise.all(Object.values(queries).map(one));
  else for (const sql of Object.values(queries)) await one(sql);
  return performance.now() - start;
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const signIn = async (context) => {
  const answer = await context.request.post(url + "/api/v1/session", {
    data: { user: credentials.pg_user, password: credentials.pg_password },
  });
  if (!answer.ok()) throw new Error(`sign-in: ${answer.status()}`);
};
async function paint(page, reload) {
  const start = Date.now();
  if (reload) await page.reload();
  else await page.goto(`${url}/#/dashboards/bench`);
  try {
    await page.locator('[data-testid=tile][data-status="ok"]').nth(5).waitFor({ timeout: 60000 });
  } catch (error) {
    const tiles = await page.getByTestId("tile").evaluateAll((all) =>
      all.map((tile) => `${tile.dataset.tileId}: ${tile.dataset.status} ${tile.textContent.slice(0, 200)}`));
    throw new Error(`the tiles did not all show their data:\n${tiles.join("\n")}`);
  }
  return Date.now() - start;
}
const cold = [], warm = [], sequential = [], parallel = [];
try {
  for (let round = 0; round < rounds; ++round) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
    await signIn(context);
    const page = await context.newPage();
    cold.push(await paint(page, false));
    warm.push(await paint(page, true));
    await context.close();
    sequential.push(await apiRound(false));
    parallel.push(await apiRound(true));
  }
} finally {
  await browser.close();
}
const ms = (value) => `${value.toFixed(0)} ms`;
console.log(`console: first paint of a 6-tile dashboard, median of ${rounds}`);
console.log(`  cold (new browser context)       ${ms(median(cold))}`);
console.log(`  warm (reload, assets cached)      ${ms(median(warm))}`);
console.log(`  its 6 queries over HTTP, one by one ${ms(median(sequential))}, all at once ${ms(median(parallel))}`);
console.log(`  cold paint / queries all at once  ${(median(cold) / median(parallel)).toFixed(2)}`);
