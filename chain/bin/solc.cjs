#!/usr/bin/env node
// A native-looking `solc` command over solc-js, for py-solc-x, forge and hardhat.
// Supports `--version` and `--standard-json` (input on stdin), honouring --base-path and
// --include-path for imports; --allow-paths is accepted and ignored (solc-js reads via callback).
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..", "..");
const solc = require(path.join(root, "node_modules", "solc"));

const args = process.argv.slice(2);

function optionValues(name) {
  const values = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && i + 1 < args.length) values.push(args[++i]);
    else if (args[i].startsWith(name + "=")) values.push(args[i].slice(name.length + 1));
  }
  return values;
}

if (args.includes("--version")) {
  const v = solc.version().replace(".Emscripten.clang", "");
  process.stdout.write("solc, the solidity compiler commandline interface\nVersion: " + v + ".Linux.g++\n");
  process.exitCode = 0;
} else if (args.includes("--standard-json")) {
  const searchRoots = [...optionValues("--base-path"), ...optionValues("--include-path"), process.cwd()];
  const findImports = (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : searchRoots.map((base) => path.resolve(base, importPath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
    }
    return { error: "File not found: " + importPath };
  };
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: findImports }));
  process.exitCode = 0;
} else {
  process.stderr.write("solc shim: only --version and --standard-json are supported\n");
  process.exitCode = 1;
}
