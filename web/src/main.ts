// The console's entry point: finds the session, wires the top bar, the routes and the sign-in
// flow (any 401 returns to #/signin, then back to the page the user wanted). A shared dashboard
// (#/shared/{token}) needs no session: it renders without asking for one.
import "./style.css";
import { getSession, setUnauthenticatedHandler, signOut } from "./api";
import { confirmDialog } from "./components/dialog";
import { errorBox } from "./dom";
import { renderCatalog } from "./pages/catalog";
import { renderRuns } from "./pages/runs";
import { renderSignIn } from "./pages/signin";
import {
  currentLocation,
  currentPathWithParams,
  navigate,
  startRouter,
  type PageContext,
  type Route,
  type Router,
} from "./router";
import { installTestHooks } from "./test_hooks";
import { createTopBar } from "./topbar";
import type { Session } from "./types";

const SIGN_IN = "/signin";
const HOME = "/catalog";
const SHARED = /^\/shared\/([^/]+)$/;

let session: Session | null = null;
let sessionChecked = false; // not asked yet when the console opened on a shared dashboard
let router: Router | null = null;

const app = document.getElementById("app")!;
const topBar = createTopBar(async () => {
  try {
    await signOut();
  } catch {
    // Signed out here either way; a session the server kept ends when its cookie expires.
  } finally {
    setSession(null);
    navigate(SIGN_IN);
  }
});
const content = document.createElement("div");
content.className = "content";
app.append(topBar.element, content);

function setSession(next: Session | null): void {
  session = next;
  topBar.setUser(next?.user ?? null);
}

/** Sends the user to sign in, remembering where they were. */
function requireSignIn(): void {
  const here = currentPathWithParams();
  setSession(null);
  navigate(SIGN_IN, here.startsWith(SIGN_IN) ? undefined : { next: here });
}

/** Only same-console paths are followed after sign-in. */
function safeNext(next: string): string {
  return next.startsWith("/") && !next.startsWith(SIGN_IN) ? next : HOME;
}

/** A page whose module (and its libraries) loads only when the page is first opened. */
function lazyPage(
  load: () => Promise<(view: HTMLElement, context: PageContext) => void>,
): Route["render"] {
  return (view, context) => {
    load().then(
      (render) => {
        if (!context.signal.aborted) render(view, context);
      },
      (error: unknown) => view.append(errorBox(error)),
    );
  };
}

const routes: Route[] = [
  {
    key: "signin",
    pattern: /^\/signin$/,
    render: (view, context) =>
      renderSignIn(view, context, (signedIn, next) => {
        setSession(signedIn);
        navigate(safeNext(next));
      }),
  },
  { key: "catalog", pattern: /^\/catalog(?:\/(.+))?$/, render: renderCatalog },
  {
    key: "query",
    pattern: /^\/query$/,
    // The SQL editor (CodeMirror) is most of the bundle: it loads only when the query page opens.
    render: lazyPage(() => import("./pages/query").then((page) => page.renderQuery)),
  },
  // So are the charts (ECharts): the dashboard pages load them when first opened.
  {
    key: "dashboards",
    pattern: /^\/dashboards$/,
    render: lazyPage(() => import("./pages/dashboards").then((page) => page.renderDashboards)),
  },
  {
    key: "dashboard",
    nav: "dashboards",
    pattern: /^\/dashboards\/(.+)$/,
    render: lazyPage(() => import("./pages/dashboard").then((page) => page.renderDashboard)),
  },
  {
    key: "shared",
    pattern: SHARED,
    render: lazyPage(() => import("./pages/shared").then((page) => page.renderShared)),
  },
  { key: "runs", pattern: /^\/runs$/, render: renderRuns },
];

/** Asks the server for the session (once), then renders the page that waited for it. */
async function checkSession(): Promise<void> {
  try {
    setSession(await getSession());
    sessionChecked = true;
    router?.refresh();
  } catch (error) {
    content.replaceChildren(errorBox(error));
  }
}

async function start(): Promise<void> {
  installTestHooks();
  setUnauthenticatedHandler(requireSignIn);
  // A shared dashboard's viewer may have no session: do not ask for one before it is needed.
  if (!SHARED.test(currentLocation().path)) {
    try {
      setSession(await getSession());
      sessionChecked = true;
    } catch (error) {
      content.replaceChildren(errorBox(error));
      return;
    }
  }
  router = startRouter({
    routes,
    fallback: HOME,
    container: content,
    confirmLeave: (message) =>
      confirmDialog(message, { confirmLabel: "Leave", cancelLabel: "Stay" }),
    beforeEach(route, location) {
      topBar.setShared(route.key === "shared");
      topBar.setActive(route.nav ?? route.key);
      if (route.key === "shared") return true;
      if (!sessionChecked) {
        void checkSession();
        return false;
      }
      if (route.key === "signin" && session) {
        navigate(safeNext(location.params.get("next") ?? HOME));
        return false;
      }
      if (route.key !== "signin" && !session) {
        requireSignIn();
        return false;
      }
      return true;
    },
  });
}

void start();
