// Drives loch's web console in a real headless Chromium (Debian's, through playwright-core) the
// way a user would: signs in (a wrong password first), browses shop.orders, runs a query and
// pages its grid, sees a syntax error at its position, cancels a long query, reloads (still
// signed in), saves queries and builds a dashboard from them, opens its read-only share link in a
// browser with no session, sees its tiles go stale and then fail (the table dropped), and signs
// out. A screenshot of each step goes to SCREENSHOT_DIR.
// Usage: node console_browser_check.mjs URL USER PASSWORD SCREENSHOT_DIR
// Prints "console browser check ok" and exits 0, or names the step that failed and exits 1.
import { chromium } from "playwright-core";

const [url, user, password, screenshots] = process.argv.slice(2);
const timeout = 20000;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-dev-shm-usage"],
});
let step = "start";
let page;
const externalRequests = [];
const consoleErrors = [];
let expectFailedLoads = false;
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("request", (request) => {
    if (!request.url().startsWith(url)) externalRequests.push(request.url());
  });
  page.on("console", (message) => {
    // 401s before signing in are expected, and the failed loads of failing tiles once a table is
    // dropped; anything else red is a bug.
    const expected = /401|Unauthorized/.test(message.text()) ||
      (expectFailedLoads && /Failed to load resource/.test(message.text()));
    if (message.type() === "error" && !expected) {
      consoleErrors.push(message.text());
    }
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  const testId = (id) => page.getByTestId(id);
  const shot = async (name) => page.screenshot({ path: `${screenshots}/${name}.png` });

  step = "sign-in page";
  await page.goto(url + "/");
  await testId("signin-user").waitFor();
  await shot("01-sign-in");

  step = "a wrong password is refused";
  await testId("signin-user").fill(user);
  await testId("signin-password").fill("not-the-password");
  await testId("signin-submit").click();
  await testId("signin-error").waitFor();
  check(/wrong user name or password/.test(await testId("signin-error").textContent()),
    "the sign-in error says what was wrong");
  await shot("02-wrong-password");

  step = "sign in";
  await testId("signin-password").fill(password);
  await testId("signin-submit").click();
  await testId("signed-in-user").waitFor();
  check((await testId("signed-in-user").textContent()).includes(user), "the user is shown");
  const cookies = await context.cookies();
  const session = cookies.find((cookie) => cookie.name === "loch_session");
  check(session && session.httpOnly && session.sameSite === "Strict",
    "the session cookie is HttpOnly and SameSite=Strict");
  check(await page.evaluate(() => !document.cookie.includes("loch_session")),
    "page scripts cannot read the session cookie");

  step = "browse a table";
  await testId("nav-catalog").click();
  await testId("table-link").filter({ hasText: "shop.orders" }).click();
  await testId("table-title").filter({ hasText: "shop.orders" }).waitFor();
  const columns = await testId("column-row").evaluateAll((rows) =>
    rows.map((row) => `${row.dataset.name}:${row.dataset.type}`));
  check(columns.includes("id:BIGINT") && columns.includes("customer:VARCHAR") &&
    columns.includes("amount:DOUBLE"), `the columns with their types (${columns})`);
  await testId("sample-grid").locator("[data-testid=grid-row]").first().waitFor();
  const sampleRows = await testId("sample-grid").getByTestId("grid-row").count();
  check(sampleRows === 50, `50 sample rows (${sampleRows})`);
  check(await testId("snapshot-row").count() >= 1, "the table's snapshots are listed");
  check(await testId("file-row").count() >= 1, "the table's files are listed");
  await shot("03-table");

  step = "run a query and page its results";
  await testId("nav-query").click();
  await testId("sql-editor").waitFor();
  await page.evaluate(() => window.lochConsole.setSql(
    "SELECT id, customer, amount * 2 AS doubled FROM shop.orders ORDER BY id"));
  await testId("run-query").click();
  await page.locator('[data-testid=query-state][data-state="SUCCEEDED"]').waitFor();
  const grid = testId("results-grid");
  await grid.getByTestId("grid-row").first().waitFor();
  check(await grid.getByTestId("grid-row").count() === 100, "the first page holds 100 rows");
  const firstRow = await grid.getByTestId("grid-row").first().locator("td").allTextContents();
  check(firstRow.join("|").includes("1|c1|3"), `the first row is id 1, c1, 3 (${firstRow})`);
  await shot("04-query-results");
  await testId("grid-next").click();
  await grid.getByTestId("grid-row").first().locator("td").first().filter({ hasText: /^101$/ })
    .waitFor();
  await testId("grid-next").click();
  await grid.getByTestId("grid-row").first().locator("td").first().filter({ hasText: /^201$/ })
    .waitFor();
  check(await grid.getByTestId("grid-row").count() === 50, "the last page holds 50 rows");
  const csv = await page.request.get(new URL(await testId("download-csv").getAttribute("href"), url).href);
  check(csv.ok() && (await csv.text()).split("\n").filter(Boolean).length === 251,
    "the CSV download has every row and a header");
  await shot("05-last-page");

  step = "a syntax error points at its position";
  await page.evaluate(() => window.lochConsole.setSql("SELECT id\nFROM shop.orders\nWHER id = 1"));
  await testId("run-query").click();
  await testId("query-error").waitFor();
  const error = testId("query-error");
  check(await error.getAttribute("data-line") === "3", "the error is on line 3");
  check(/syntax error/i.test(await error.textContent()), "the error says it is a syntax error");
  await shot("06-syntax-error");

  step = "cancel a long query";
  await page.evaluate(() => window.lochConsole.setSql(
    "SELECT count(*) FROM range(100000000000) a(i) WHERE i % 7 = 3"));
  await testId("run-query").click();
  await page.locator('[data-testid=query-state][data-state="RUNNING"]').waitFor();
  await shot("07-running");
  await testId("cancel-query").click();
  await page.locator('[data-testid=query-state][data-state="CANCELLED"]').waitFor();
  await shot("08-cancelled");
  check(await testId("history-item").count() >= 3, "the history lists the queries run");

  step = "a reload keeps the session";
  await page.reload();
  await testId("signed-in-user").waitFor();

  // Dashboards: saved queries with {{parameters}}, a dashboard built from them, its parameters
  // re-running the tiles, and a read-only share link opened by a browser with no session.
  const okTiles = (where) => where.locator('[data-testid=tile][data-status="ok"]');

  step = "save two queries";
  await testId("nav-query").click();
  await testId("sql-editor").waitFor();
  const saveQuery = async (name, sql) => {
    await page.evaluate((text) => window.lochConsole.setSql(text), sql);
    await testId("save-query").click();
    await testId("save-query-name").fill(name);
    await testId("save-query-confirm").click();
    await page.locator(`[data-testid=saved-query-item][data-name="${name}"]`).waitFor();
  };
  await saveQuery("orders_per_day", "SELECT day, count(*) AS orders FROM shop.orders " +
    "WHERE day BETWEEN {{from}} AND {{to}} GROUP BY day ORDER BY day");
  await saveQuery("order_count",
    "SELECT count(*) AS orders FROM shop.orders WHERE day BETWEEN {{from}} AND {{to}}");
  check(await testId("saved-query-item").count() >= 2, "both saved queries are listed");
  await shot("10-saved-queries");

  step = "build a dashboard";
  await testId("nav-dashboards").click();
  await testId("new-dashboard").click();
  await testId("new-dashboard-name").fill("sales");
  await testId("new-dashboard-confirm").click();
  await testId("dashboard-title-input").fill("Sales");
  const addParam = async (name, type, value) => {
    await testId("add-param").click();
    await testId("param-name-input").fill(name);
    await testId("param-type-input").selectOption(type);
    await testId("param-default-input").fill(value);
    await testId("add-param-confirm").click();
    await testId(`param-${name}`).waitFor();
  };
  await addParam("from", "date", "2026-01-01");
  await addParam("to", "date", "2026-01-10");
  const addTile = async (title, query, chart) => {
    const before = await testId("tile").count();
    await testId("add-tile").click();
    await testId("tile-title-input").fill(title);
    await testId("tile-query-select").locator(`option[value="${query}"]`)
      .waitFor({ state: "attached" });
    await testId("tile-query-select").selectOption(query);
    await testId("tile-chart-select").selectOption(chart);
    await testId("add-tile-confirm").click();
    await testId("tile").nth(before).waitFor();
  };
  await addTile("Orders per day", "orders_per_day", "line");
  await addTile("Orders", "order_count", "number");
  check(await testId("unsaved-marker").isVisible(), "the new dashboard is marked unsaved");
  await shot("11-dashboard-editing");
  await testId("save-dashboard").click();
  await testId("unsaved-marker").waitFor({ state: "detached" });
  await okTiles(page).nth(1).waitFor();
  check(await testId("tile").count() === 2, "the dashboard has two tiles");
  await testId("tile-number").filter({ hasText: /^250$/ }).waitFor();
  check(await testId("tile-chart").locator("canvas").count() >= 1, "the line tile draws a chart");
  await shot("12-dashboard");

  step = "a parameter re-runs the tiles";
  await testId("param-to").fill("2026-01-04");
  await testId("apply-params").click();
  await testId("tile-number").filter({ hasText: /^100$/ }).waitFor();
  await okTiles(page).nth(1).waitFor();
  await shot("13-dashboard-parameter");

  step = "the dashboard is kept";
  await page.reload();
  await testId("signed-in-user").waitFor();
  await testId("nav-dashboards").click();
  await testId("dashboard-link").filter({ hasText: "Sales" }).click();
  await okTiles(page).nth(1).waitFor();
  check(await testId("tile").count() === 2, "the reopened dashboard has both tiles");
  await testId("tile-number").filter({ hasText: /^250$/ }).waitFor();

  step = "a read-only share link works without signing in";
  await testId("share-dashboard").click();
  const shareUrl = await testId("share-url").inputValue();
  check(shareUrl.startsWith(new URL(url).origin + "/#/shared/"), `a share URL (${shareUrl})`);
  await shot("14-share");
  const viewerContext = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  try {
    const viewer = await viewerContext.newPage();
    viewer.setDefaultTimeout(timeout);
    const sessionCalls = [];
    viewer.on("request", (request) => {
      if (!request.url().startsWith(url)) externalRequests.push(request.url());
      if (new URL(request.url()).pathname === "/api/v1/session") sessionCalls.push(request.url());
    });
    viewer.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(`shared view: ${message.text()}`);
    });
    viewer.on("pageerror", (error) => consoleErrors.push(`shared view: ${error}`));
    check((await viewerContext.cookies()).length === 0, "the viewer has no cookies");
    await viewer.goto(shareUrl);
    await okTiles(viewer).nth(1).waitFor();
    check(await viewer.getByTestId("tile").count() === 2, "the shared dashboard has both tiles");
    await viewer.getByTestId("tile-number").filter({ hasText: /^250$/ }).waitFor();
    check(await viewer.getByTestId("read-only-badge").isVisible(), "the read-only badge is shown");
    check(await viewer.getByTestId("edit-dashboard").count() === 0, "no edit button");
    check(await viewer.getByTestId("share-dashboard").count() === 0, "no share button");
    check(!(await viewer.getByTestId("nav-catalog").isVisible()), "no links to other pages");
    check(viewer.url().includes("/#/shared/"), `no redirect to sign-in (${viewer.url()})`);
    check(sessionCalls.length === 0, `the shared view asks for no session (${sessionCalls})`);
    await viewer.screenshot({ path: `${screenshots}/15-shared.png` });
  } finally {
    await viewerContext.close();
  }

  // Failures in plain sight: pushed by the server's events, no click. A tile never shows old
  // numbers as if they were current.
  step = "a table that stops changing makes its tiles stale";
  const signedIn = await (await page.request.get(url + "/api/v1/session")).json();
  const withToken = { headers: { "X-CSRF-Token": signedIn.csrf_token } };
  const expectation = await page.request.put(url + "/api/v1/freshness/shop.orders",
    { ...withToken, data: { expect_every: "1s" } });
  check(expectation.ok(), `an expectation is set (${expectation.status()})`);
  await page.locator('[data-testid=tile][data-status="stale"]').nth(1).waitFor();
  check(/shop\.orders/.test(await testId("tile-stale").first().textContent()),
    "the stale banner names the table");
  check(await testId("tile-number").filter({ hasText: /^250$/ }).count() === 1,
    "the data is still shown, marked stale");
  await shot("16-stale");

  step = "a dropped table fails its tiles with the reason";
  expectFailedLoads = true; // the tiles' 404s are the point here
  const dropped = await page.request.post(url + "/api/v1/query",
    { ...withToken, data: { sql: "DROP TABLE shop.orders" } });
  check(dropped.ok(), `the table is dropped (${dropped.status()})`);
  await page.locator('[data-testid=tile][data-status="failed"]').nth(1).waitFor();
  check(/shop\.orders/.test(await testId("tile-error").first().textContent()),
    "the failed tile says which table is missing");
  check(await testId("tile-number").count() === 0, "no old number is left on the tile");
  check(await testId("tile-chart").locator("canvas").count() === 0, "no old chart either");
  await shot("17-failed");

  step = "sign out";
  await testId("signout").click();
  await testId("signin-user").waitFor();
  const after = await page.request.get(url + "/api/v1/tables");
  check(after.status() === 401, "the API refuses the signed-out browser");
  await shot("09-signed-out");

  check(externalRequests.length === 0, `no request left the server (${externalRequests})`);
  check(consoleErrors.length === 0, `no script errors (${consoleErrors})`);
  console.log("console browser check ok");
} catch (error) {
  console.error(`step "${step}": ${error.message}`);
  if (page) await page.screenshot({ path: `${screenshots}/failed.png` }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
