// #/runs: operations. Recent failures (FAILED, TIMEOUT) first, then all recent runs; choosing a
// run shows its worker's log.
import { getRunLogs, isAbortError, listRuns } from "../api";
import { stateBadge } from "../components/state_badge";
import { cell, errorBox, h, note, section, setChildren, table } from "../dom";
import { formatDuration, formatMicros } from "../format";
import type { PageContext } from "../router";
import type { Run } from "../types";

const RUN_LIMIT = 50;
const FAILURE_STATES = new Set(["FAILED", "TIMEOUT"]);
const RUN_HEADERS = [
  "Run",
  "Kind",
  "Name",
  "State",
  "Attempt",
  "Trigger",
  "Started",
  "Duration",
  "Error",
  "",
];

function duration(run: Run): string {
  if (!run.started_micros) return "—";
  const end = run.finished_micros || Date.now() * 1000;
  return formatDuration((end - run.started_micros) / 1000);
}

export function renderRuns(view: HTMLElement, { signal }: PageContext): void {
  const failures = h("div", {}, note("Loading…"));
  const all = h("div", {}, note("Loading…"));
  const logs = h("div", {}, note("Choose a run to see its log."));
  const refresh = h("button", { attrs: { type: "button" } }, "Refresh");
  let logsController: AbortController | null = null;

  const showLogs = async (run: Run) => {
    logsController?.abort();
    logsController = new AbortController();
    const logsSignal = AbortSignal.any([signal, logsController.signal]);
    setChildren(logs, note(`Loading the log of run ${run.run_id}…`));
    try {
      const text = await getRunLogs(run.run_id, logsSignal);
      setChildren(
        logs,
        h("h3", {}, `Run ${run.run_id}: ${run.kind} ${run.name}, attempt ${run.attempt}`),
        h(
          "pre",
          { class: "code logs", testid: "run-logs", attrs: { tabindex: "0" } },
          text || "(empty log)",
        ),
      );
      logs.scrollIntoView({ block: "nearest" });
    } catch (error) {
      if (!isAbortError(error)) setChildren(logs, errorBox(error));
    }
  };

  const runRow = (run: Run, testid: "failure-row" | "run-row") =>
    h(
      "tr",
      { testid, attrs: { "data-state": run.state, "data-run": String(run.run_id) } },
      cell(run.run_id, true),
      cell(run.kind),
      cell(run.name),
      cell(stateBadge(run.state)),
      cell(`${run.attempt} / ${run.max_attempts}`, true),
      cell(run.trigger),
      cell(formatMicros(run.started_micros || run.queued_micros)),
      cell(duration(run), true),
      h("td", { class: "error-text", title: run.error ?? "" }, run.error ?? ""),
      cell(
        h(
          "button",
          { class: "small", attrs: { type: "button" }, on: { click: () => void showLogs(run) } },
          "Logs",
        ),
      ),
    );

  const load = async () => {
    refresh.disabled = true;
    try {
      const [failed, recent] = await Promise.all([
        listRuns({ failedOnly: true, limit: RUN_LIMIT }, signal),
        listRuns({ failedOnly: false, limit: RUN_LIMIT }, signal),
      ]);
      // ?failed=true also answers CANCELLED runs, which are not failures to look into.
      const failureRows = failed
        .filter((run) => FAILURE_STATES.has(run.state))
        .map((run) => runRow(run, "failure-row"));
      setChildren(
        failures,
        failureRows.length > 0 ? table(RUN_HEADERS, failureRows) : note("No failed runs."),
      );
      const runRows = recent.map((run) => runRow(run, "run-row"));
      setChildren(all, runRows.length > 0 ? table(RUN_HEADERS, runRows) : note("No runs yet."));
    } catch (error) {
      if (!isAbortError(error)) {
        setChildren(failures, errorBox(error));
        setChildren(all);
      }
    } finally {
      refresh.disabled = false;
    }
  };
  refresh.addEventListener("click", () => void load());

  view.append(
    h("div", { class: "toolbar" }, h("h1", {}, "Runs"), h("div", { class: "spacer" }), refresh),
    section("Failures", failures),
    section("All runs", all),
    section("Log", logs),
  );
  void load();
}
