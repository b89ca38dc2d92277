// Light/dark theme: follows prefers-color-scheme until the user picks one, which is remembered in
// localStorage. The theme is the data-theme attribute on <html>, read by style.css.

type Theme = "light" | "dark";

const STORAGE_KEY = "loch.theme";
const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

function chosenTheme(): Theme | null {
  const stored = localStorage.getItem(STORAGE_KEY);
  return stored === "light" || stored === "dark" ? stored : null;
}

export function currentTheme(): Theme {
  return chosenTheme() ?? (systemDark.matches ? "dark" : "light");
}

function apply(): void {
  document.documentElement.dataset.theme = currentTheme();
}

/** Applies the theme now and whenever the system preference changes (if no choice was made). */
export function initTheme(onChange: () => void): void {
  apply();
  systemDark.addEventListener("change", () => {
    apply();
    onChange();
  });
}

export function toggleTheme(): Theme {
  localStorage.setItem(STORAGE_KEY, currentTheme() === "dark" ? "light" : "dark");
  apply();
  return currentTheme();
}
