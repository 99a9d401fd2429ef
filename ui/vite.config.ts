import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The app loads from tauri://localhost under a strict CSP: no inline assets, no eval.
export default defineConfig({
  plugins: [
    svelte(),
    {
      // WebKitGTK refuses module scripts marked `crossorigin` from tauri:// (CORS on a custom
      // scheme); the assets are same-origin anyway.
      name: "strip-crossorigin",
      transformIndexHtml: (html) => html.replace(/ crossorigin/g, ""),
    },
  ],
  clearScreen: false,
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
