import { defineConfig, mergeConfig } from "vitest/config";
import viteConfig from "./vite.config.ts";

export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      // Logic tests run in Node; component tests opt into a DOM with `@vitest-environment happy-dom`.
      environment: "node",
      include: ["tests/**/*.test.{ts,tsx}"],
      setupFiles: ["tests/setup.ts"],
      maxWorkers: 2,
    },
  }),
);
