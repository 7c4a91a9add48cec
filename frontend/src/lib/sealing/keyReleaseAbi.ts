// KeyRelease's ABI (contracts/interfaces/IKeyRelease.sol) and the market's `keyRelease()` view, by hand until the
// generated ABIs carry them: at merge this file is replaced by the generated `keyReleaseAbi` (src/generated/abis.ts).
import { crowdMarketAbi } from "../contracts";

type HashJob = Extract<(typeof crowdMarketAbi)[number], { type: "function"; name: "hashJob" }>;
const jobInput = (crowdMarketAbi.find((item) => item.type === "function" && item.name === "hashJob") as HashJob).inputs[0];

export const marketKeyReleaseAbi = [
  { type: "function", name: "keyRelease", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "address" }] },
] as const;

export const keyReleaseAbi = [
  {
    type: "function",
    name: "encryptionKeyOf",
    stateMutability: "view",
    inputs: [{ name: "account", type: "address" }],
    outputs: [{ name: "", type: "bytes32" }],
  },
  {
    type: "function",
    name: "releaseKey",
    stateMutability: "nonpayable",
    inputs: [{ name: "jobId", type: "uint256" }, jobInput, { name: "sealedKey", type: "bytes" }],
    outputs: [],
  },
  {
    type: "function",
    name: "publishKeys",
    stateMutability: "nonpayable",
    inputs: [
      { name: "jobId", type: "uint256" },
      { name: "recipients", type: "address[]" },
      { name: "sealedKeys", type: "bytes[]" },
    ],
    outputs: [],
  },
  {
    type: "function",
    name: "keyReleased",
    stateMutability: "view",
    inputs: [
      { name: "jobId", type: "uint256" },
      { name: "provider", type: "address" },
      { name: "deadline", type: "uint64" },
    ],
    outputs: [{ name: "", type: "bool" }],
  },
  {
    type: "event",
    name: "KeyReleased",
    anonymous: false,
    inputs: [
      { name: "jobId", type: "uint256", indexed: true },
      { name: "provider", type: "address", indexed: true },
      { name: "deadline", type: "uint64", indexed: false },
      { name: "recorded", type: "bool", indexed: false },
      { name: "sealedKey", type: "bytes", indexed: false },
    ],
  },
  {
    type: "event",
    name: "KeySealed",
    anonymous: false,
    inputs: [
      { name: "jobId", type: "uint256", indexed: true },
      { name: "sender", type: "address", indexed: true },
      { name: "recipient", type: "address", indexed: true },
      { name: "sealedKey", type: "bytes", indexed: false },
    ],
  },
  {
    type: "event",
    name: "EncryptionKeySet",
    anonymous: false,
    inputs: [
      { name: "account", type: "address", indexed: true },
      { name: "key", type: "bytes32", indexed: false },
    ],
  },
] as const;
