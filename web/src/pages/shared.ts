// #/shared/{token}: a dashboard shared by a read-only link, for viewers who are not signed in. It
// uses only the shared endpoints (no session, no event stream: tiles refresh every
// refresh_seconds), shows no edit, save, share or version controls and no links to other pages;
// the parameters can still be changed here.
import { ApiError, getSharedDashboard, isAbortError, runSharedTile } from "../api";
import { createDashboardView } from "../components/dashboard_view";
import { errorBox, h, note, setChildren } from "../dom";
import type { PageContext } from "../router";

export function renderShared(view: HTMLElement, context: PageContext): void {
  const { signal } = context;
  const token = context.captures[0] ?? "";
  view.append(note("Loading the shared dashboard…"));

  getSharedDashboard(token, signal).then(
    (dashboard) => {
      const definition = {
        ...dashboard.definition,
        parameters: dashboard.definition?.parameters ?? [],
        tiles: dashboard.definition?.tiles ?? [],
      };
      const dashboardView = createDashboardView({
        signal,
        initialValues: context.params,
        run: (tile, values, runSignal) => runSharedTile(token, tile.id, values, runSignal),
      });
      const title = definition.title || dashboard.name;
      document.title = `${title} · loch`;
      setChildren(
        view,
        h(
          "div",
          { class: "toolbar dashboard-header" },
          h("h1", { testid: "dashboard-title" }, title),
          h(
            "span",
            {
              class: "badge",
              testid: "read-only-badge",
              title: "Shared by a link: you can change the parameters, not the dashboard",
            },
            "read-only",
          ),
        ),
        dashboardView.element,
      );
      dashboardView.setDefinition(definition);
      signal.addEventListener("abort", () => (document.title = "loch"), { once: true });
    },
    (error: unknown) => {
      if (isAbortError(error)) return;
      const gone = error instanceof ApiError && (error.status === 404 || error.status === 401);
      setChildren(
        view,
        errorBox(
          gone ? "This share link does not exist or has been stopped by its owner." : error,
          "shared-error",
        ),
      );
    },
  );
}
