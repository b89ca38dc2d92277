// The top bar: product name, navigation, the signed-in user, sign-out and the theme toggle. A shared
// (read-only) dashboard shows only the name and the theme toggle.
import { h, setChildren } from "./dom";
import { currentTheme, initTheme, toggleTheme } from "./theme";

export type NavKey = "catalog" | "query" | "dashboards" | "runs";

const NAV: { key: NavKey; label: string }[] = [
  { key: "catalog", label: "Catalog" },
  { key: "query", label: "Query" },
  { key: "dashboards", label: "Dashboards" },
  { key: "runs", label: "Runs" },
];

export interface TopBar {
  element: HTMLElement;
  /** Shows the navigation for a signed-in user, or only the theme toggle when `user` is null. */
  setUser(user: string | null): void;
  setActive(key: string): void;
  /** A shared dashboard's bar: no links to the console's pages, no user. */
  setShared(shared: boolean): void;
}

export function createTopBar(onSignOut: () => void): TopBar {
  const links = NAV.map(({ key, label }) =>
    h("a", { testid: `nav-${key}`, attrs: { href: `#/${key}`, "data-key": key } }, label),
  );
  const nav = h("nav", { class: "nav", attrs: { "aria-label": "Main" } }, ...links);
  const userSlot = h("div", { class: "user" });
  const brand = h("a", { class: "brand", attrs: { href: "#/catalog" } }, "loch");
  let currentUser: string | null = null;
  let sharedView = false;
  const showNav = () => {
    nav.hidden = currentUser === null || sharedView;
    userSlot.hidden = sharedView;
    if (sharedView) brand.removeAttribute("href");
    else brand.setAttribute("href", "#/catalog");
  };
  const themeButton = h("button", {
    class: "ghost",
    testid: "theme-toggle",
    attrs: { type: "button" },
    on: { click: () => showTheme(toggleTheme()) },
  });
  const showTheme = (theme: "light" | "dark") => {
    const next = theme === "dark" ? "light" : "dark";
    themeButton.textContent = theme === "dark" ? "☀ Light" : "☾ Dark";
    themeButton.title = `Switch to the ${next} theme`;
    themeButton.setAttribute("aria-label", `Switch to the ${next} theme`);
  };
  initTheme(() => showTheme(currentTheme()));
  showTheme(currentTheme());

  const element = h(
    "header",
    { class: "topbar" },
    brand,
    nav,
    h("div", { class: "spacer" }),
    userSlot,
    themeButton,
  );

  return {
    element,
    setUser(user) {
      currentUser = user;
      showNav();
      if (user === null) {
        setChildren(userSlot);
        return;
      }
      setChildren(
        userSlot,
        h("span", { testid: "signed-in-user", title: "Signed in as" }, user),
        h(
          "button",
          {
            class: "ghost",
            testid: "signout",
            attrs: { type: "button" },
            on: { click: onSignOut },
          },
          "Sign out",
        ),
      );
    },
    setActive(key) {
      for (const link of links) {
        if (link.dataset.key === key) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
    },
    setShared(shared) {
      sharedView = shared;
      showNav();
    },
  };
}
