// KeyRelease's ABI and the market's `keyRelease()` view, from the generated ABIs (src/generated/abis.ts,
// compiled from contracts/interfaces/IKeyRelease.sol and the market by `make setup`).
import { crowdMarketAbi } from "../contracts";

export { keyReleaseAbi } from "../../generated/abis";

/** The market's ABI: it carries the `keyRelease()` view that names the KeyRelease contract. */
export const marketKeyReleaseAbi = crowdMarketAbi;
