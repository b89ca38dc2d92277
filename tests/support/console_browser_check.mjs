// Drives loch's web console in a real headless Chromium (Debian's, through playwright-core) the
// way a user would: signs in (a wrong password first), browses shop.orders, runs a query and
// pages its grid, sees a syntax error at its position, cancels a long query, reloads (still
// signed in) and signs out. A screenshot of each step goes to SCREENSHOT_DIR.
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
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("request", (request) => {
    if (!request.url().startsWith(url)) externalRequests.push(request.url());
  });
  page.on("console", (message) => {
    // 401s before signing in are expected; anything else red is a bug.
    if (message.type() === "error" && !/401|Unauthorized/.test(message.text())) {
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
