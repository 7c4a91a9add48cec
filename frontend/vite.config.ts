import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The gateway serves dist/ at `/`; in `npm run dev` the API paths go to a gateway on port 8000.
const GATEWAY = process.env.CROWDCOMPUTE_GATEWAY_URL ?? "http://127.0.0.1:8000";
const API_PREFIXES = ["/bundles", "/ipfs", "/jobs", "/providers", "/validators", "/stats", "/schema", "/config", "/readyz", "/healthz"];

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1200,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: Object.fromEntries(API_PREFIXES.map((prefix) => [prefix, { target: GATEWAY, changeOrigin: false }])),
  },
});
