// Hash router: "#/catalog/shop.orders?x=1" → a route definition and its captures. Each route
// change aborts the previous page's AbortSignal (stopping its fetches and polls) and mounts the
// new page in a fresh element, unless the route keeps its page (same key, page has update()).

export interface Location {
  path: string; // "/catalog/shop.orders"
  params: URLSearchParams;
}

export interface PageContext {
  captures: string[]; // the route pattern's groups, URI-decoded ("" when a group did not match)
  params: URLSearchParams;
  signal: AbortSignal; // aborted when the user leaves the page
}

/** What a page may return: update() takes a change of captures within the same route key. */
export interface PageHandle {
  update(context: PageContext): void;
}

export interface Route {
  key: string;
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
}

export function startRouter(options: RouterOptions): void {
  let current: { route: Route; controller: AbortController; handle: PageHandle | void } | null =
    null;

  const render = () => {
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
    });
    if (current && current.route.key === match.route.key && current.handle) {
      current.handle.update(context(current.controller));
      return;
    }
    current?.controller.abort();
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
  render();
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
