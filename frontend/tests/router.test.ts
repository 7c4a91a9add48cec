import { describe, expect, it } from "vitest";
import { parseRoute } from "../src/lib/router";
import { jobsPath, readJobsQuery } from "../src/pages/JobsPage";

describe("hash routes", () => {
  it("maps hashes to pages", () => {
    expect(parseRoute("")).toEqual({ page: "home" });
    expect(parseRoute("#/post")).toEqual({ page: "post" });
    expect(parseRoute("#/jobs/42")).toEqual({ page: "job", id: 42 });
    expect(parseRoute("#/providers/0xABCDEF0123456789abcdef0123456789ABCDEF01")).toEqual({
      page: "provider",
      address: "0xabcdef0123456789abcdef0123456789abcdef01",
    });
    expect(parseRoute("#/jobs/x")).toEqual({ page: "notFound", path: "/jobs/x" });
  });

  it("keeps the jobs filters in the hash", () => {
    const route = parseRoute("#/jobs?state=Open&mine=1&page=3");
    expect(route.page).toBe("jobs");
    const query = readJobsQuery(route.page === "jobs" ? route.query : new URLSearchParams());
    expect(query).toEqual({ state: "Open", mine: true, page: 3 });
    expect(jobsPath(query)).toBe("/jobs?state=Open&mine=1&page=3");
    expect(readJobsQuery(new URLSearchParams("state=Bogus&page=-1"))).toEqual({ state: null, mine: false, page: 1 });
  });
});
