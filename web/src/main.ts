// The console's entry point: finds the session, wires the top bar, the routes and the sign-in
// flow (any 401 returns to #/signin, then back to the page the user wanted).
import "./style.css";
import { getSession, setUnauthenticatedHandler, signOut } from "./api";
import { errorBox } from "./dom";
import { renderCatalog } from "./pages/catalog";
import { renderRuns } from "./pages/runs";
import { renderSignIn } from "./pages/signin";
import { currentPathWithParams, navigate, startRouter, type Route } from "./router";
import { installTestHooks } from "./test_hooks";
import { createTopBar } from "./topbar";
import type { Session } from "./types";

const SIGN_IN = "/signin";
const HOME = "/catalog";

let session: Session | null = null;

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
    render: (view, context) => {
      import("./pages/query").then(
        ({ renderQuery }) => {
          if (!context.signal.aborted) renderQuery(view, context);
        },
        (error: unknown) => view.append(errorBox(error)),
      );
    },
  },
  { key: "runs", pattern: /^\/runs$/, render: renderRuns },
];

async function start(): Promise<void> {
  installTestHooks();
  setUnauthenticatedHandler(requireSignIn);
  try {
    setSession(await getSession());
  } catch (error) {
    content.replaceChildren(errorBox(error));
    return;
  }
  startRouter({
    routes,
    fallback: HOME,
    container: content,
    beforeEach(route, location) {
      topBar.setActive(route.key);
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
