import { defineConfig } from "vite";

// Relative asset URLs: index.html's <base href> (set by the hub to its BASE_PATH) anchors them,
// so one build serves at / behind nginx and under any prefix in the all-in-one hub.
export default defineConfig({
  base: "./",
  oxc: { jsx: { runtime: "automatic" } },
  build: { outDir: "dist", emptyOutDir: true, reportCompressedSize: true, chunkSizeWarningLimit: 600 },
  server: { proxy: { "/api": "http://127.0.0.1:3000" } },
});
