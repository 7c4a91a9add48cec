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
    // dist/.vite/manifest.json: which chunks each page loads (scripts/bundle-size.mjs reads it).
    manifest: true,
    rolldownOptions: {
      output: {
        // React and its router, which every page needs, in a chunk of their own that stays cached across
        // releases of the dApp's code. wagmi and viem are left to the automatic split: grouping them would
        // put viem's wallet and public actions (fetched only when a page sends a transaction) in the first load.
        codeSplitting: {
          groups: [{ name: "react", test: /node_modules[\\/](react|react-dom|scheduler|react-router)[\\/]/ }],
        },
      },
    },
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    // A page navigation (Accept: text/html) to a path the API shares (`/jobs/12`) stays with the dev server.
    proxy: Object.fromEntries(
      API_PREFIXES.map((prefix) => [
        prefix,
        {
          target: GATEWAY,
          changeOrigin: false,
          bypass: (request: { headers: { accept?: string } }) =>
            request.headers.accept?.includes("text/html") ? "/index.html" : undefined,
        },
      ]),
    ),
  },
});
