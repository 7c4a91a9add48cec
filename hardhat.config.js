// Hardhat 3 view of the same contracts: the compiler settings come from contracts/solc-settings.json
// (shared with py-solc-x and forge) and the compiler is the solc-js build installed by npm (no download).
// Hardhat 3 needs Node >= 22.13: `make hardhat` installs it locally (see README).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "hardhat/config";

const settingsFile = new URL("./contracts/solc-settings.json", import.meta.url);
const solc = JSON.parse(readFileSync(settingsFile, "utf8"));

export default defineConfig({
  paths: {
    sources: "./contracts",
    artifacts: "./build/hardhat/artifacts",
    cache: "./build/hardhat/cache",
  },
  solidity: {
    version: solc.version,
    path: fileURLToPath(new URL("./node_modules/solc/soljson.js", import.meta.url)),
    settings: {
      evmVersion: solc.evmVersion,
      optimizer: solc.optimizer,
      viaIR: solc.viaIR,
    },
  },
  networks: {
    // `npx hardhat node --hostname 127.0.0.1` serves this chain on 127.0.0.1:8545 (chain id 31337).
    localhost: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
    },
  },
});
