// Hash router: "#/catalog/shop.orders?x=1" → a route definition and its captures. Each route
// change aborts the previous page's AbortSignal (stopping its fetches and polls) and mounts the
// new page in a fresh element, unless the route keeps its page (same key, page has update()).
// A page with unsaved work sets a leave guard: leaving it (another hash, a reload, closing the tab)
// asks first.

export interface Location {
  path: string; // "/catalog/shop.orders"
  params: URLSearchParams;
}

export interface PageContext {
  captures: string[]; // the route pattern's groups, URI-decoded ("" when a group did not match)
  params: URLSearchParams;
  signal: AbortSignal; // aborted when the user leaves the page
  /** While `guard` answers a message, leaving the page asks the user with it; null removes it. */
  setLeaveGuard(guard: (() => string | null) | null): void;
}

/** What a page may return: update() takes a change of captures within the same route key. */
export interface PageHandle {
  update(context: PageContext): void;
}

export interface Route {
  key: string;
  nav?: string; // the top bar link to mark (default: key)
  pattern: RegExp;
  render(view: HTMLElement, context: PageContext): PageHandle | void;
}

export function currentLocation(): Location {
  const hash = window.location.hash.replace(/^#/, "");
  const query = hash.indexOf("?");
  const path = query < 0 ? hash : hash.slice(0, query);
  return { path: path || "/", params: new URLSearchParams(query < 0 ? "" : hash.slice(query + 1)) };
}

/** The current location as a hash path (to come back to it later). */
export function currentPathWithParams(): string {
  return window.location.hash.replace(/^#/, "") || "/";
}

export function navigate(path: string, params?: Record<string, string>): void {
  const query = params ? "?" + new URLSearchParams(params).toString() : "";
  window.location.hash = "#" + path + query;
}

export interface RouterOptions {
  routes: Route[];
  fallback: string; // path to go to when no route matches
  container: HTMLElement;
  /** May redirect (by calling navigate) and return false to skip rendering. */
  beforeEach(route: Route, location: Location): boolean;
  /** Asks whether to leave a page with unsaved work (`message` says what would be lost). */
  confirmLeave(message: string): Promise<boolean>;
}

export interface Router {
  /** Renders the current location again (after what beforeEach depends on has changed). */
  refresh(): void;
}

export function startRouter(options: RouterOptions): Router {
  let current: { route: Route; controller: AbortController; handle: PageHandle | void } | null =
    null;
  let leaveGuard: (() => string | null) | null = null;
  let approvedHash: string | null = null; // a leave the user has just confirmed

  /** Keeps the page (putting the old hash back) and asks; navigates on once confirmed. */
  const guardLeave = (event: HashChangeEvent | null): boolean => {
    const message = leaveGuard?.();
    const target = window.location.hash;
    if (!message || !event || approvedHash === target) return true;
    history.replaceState(history.state, "", event.oldURL);
    void options.confirmLeave(message).then((leave) => {
      if (!leave) return;
      approvedHash = target;
      window.location.hash = target;
    });
    return false;
  };

  const render = (event: HashChangeEvent | null = null) => {
    if (!guardLeave(event)) return;
    approvedHash = null;
    const location = currentLocation();
    const match = matchRoute(options.routes, location.path);
    if (!match) {
      navigate(options.fallback);
      return;
    }
    if (!options.beforeEach(match.route, location)) return;
    const context = (controller: AbortController): PageContext => ({
      captures: match.captures,
      params: location.params,
      signal: controller.signal,
      setLeaveGuard(guard) {
        if (!controller.signal.aborted) leaveGuard = guard;
      },
    });
    if (current && current.route.key === match.route.key && current.handle) {
      current.handle.update(context(current.controller));
      return;
    }
    current?.controller.abort();
    leaveGuard = null;
    const controller = new AbortController();
    const view = document.createElement("main");
    view.className = "view view-" + match.route.key;
    options.container.replaceChildren(view);
    current = {
      route: match.route,
      controller,
      handle: match.route.render(view, context(controller)),
    };
  };

  window.addEventListener("hashchange", render);
  window.addEventListener("beforeunload", (event) => {
    if (!leaveGuard?.()) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers ask only when this is set
  });
  render();
  return { refresh: () => render() };
}

function matchRoute(routes: Route[], path: string): { route: Route; captures: string[] } | null {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match) {
      return { route, captures: match.slice(1).map((group) => decodeURIComponent(group ?? "")) };
    }
  }
  return null;
}
