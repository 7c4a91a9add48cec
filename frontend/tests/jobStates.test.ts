// The dApp's job states are the gateway's, in the gateway's order, and derived from the contracts' enums.
import { describe, expect, it } from "vitest";
import openapi from "../src/generated/openapi.json";
import { JOB_STATES, TERMINAL_STATES } from "../src/lib/api";

describe("job states", () => {
  it("are exactly the states the gateway's schema names, in its order", () => {
    expect(JOB_STATES).toEqual(openapi.components.schemas.JobPublic.properties.state.enum);
  });

  it("are terminal from the first outcome on: a live job is never terminal", () => {
    const states = openapi.components.schemas.JobPublic.properties.state.enum;
    expect([...TERMINAL_STATES]).toEqual(states.slice(states.indexOf("Submitted") + 1));
  });
});
