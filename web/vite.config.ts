// Vite build of the console: one self-contained bundle under dist/ (served by the loch server at /),
// hashed file names under assets/, no source maps and nothing loaded from other origins.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    // Everything is bundled into hashed files: no inline data: scripts (the CSP forbids them).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // The dashboards' chunk is mostly ECharts (its tree-shaken core, ~190 kB gzipped), loaded only
    // when a dashboard opens.
    chunkSizeWarningLimit: 700,
  },
});
