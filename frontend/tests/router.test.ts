import { describe, expect, it } from "vitest";
import { pathOfLegacyHash, paths } from "../src/lib/paths";
import { jobsPath, readJobsQuery } from "../src/pages/JobsPage";
import { routeOf } from "../src/routes";

const titleOf = (pathname: string) => {
  const route = routeOf(pathname);
  return route ? route.handle.title(route.params) : null;
};

describe("page URLs", () => {
  it("maps paths to pages", () => {
    expect(titleOf("/")).toBe("Marketplace");
    expect(titleOf("/post")).toBe("Post a job");
    expect(titleOf("/jobs")).toBe("Jobs");
    expect(titleOf("/jobs/42")).toBe("Job #42");
    expect(routeOf("/jobs/42")?.params).toMatchObject({ id: "42" });
    expect(titleOf("/providers")).toBe("Providers");
    expect(titleOf("/providers/0xABCDEF0123456789abcdef0123456789ABCDEF01")).toBe("Provider 0xABCD…EF01");
    expect(titleOf("/jobs/x")).toBe("Not found");
    expect(titleOf("/providers/0x12")).toBe("Not found");
    expect(titleOf("/nowhere")).toBe("Not found");
    // A path the API also answers is a page too: the gateway serves the dApp to browser navigations there.
    expect(titleOf("/jobs/42/logs")).toBe("Not found");
  });

  it("builds every page's URL, addresses in lower case", () => {
    expect(paths.job(7)).toBe("/jobs/7");
    expect(paths.provider("0xABCDEF0123456789abcdef0123456789ABCDEF01")).toBe("/providers/0xabcdef0123456789abcdef0123456789abcdef01");
  });

  it("sends the earlier hash links to the same pages", () => {
    expect(pathOfLegacyHash("#/jobs/12")).toBe("/jobs/12");
    expect(pathOfLegacyHash("#/jobs?state=Open")).toBe("/jobs?state=Open");
    expect(pathOfLegacyHash("#/")).toBe("/");
    expect(pathOfLegacyHash("#section")).toBeNull();
    expect(pathOfLegacyHash("")).toBeNull();
  });

  it("keeps the jobs filters in the query string", () => {
    const query = readJobsQuery(new URLSearchParams("state=Open&mine=1&page=3"));
    expect(query).toEqual({ state: "Open", mine: true, page: 3 });
    expect(jobsPath(query)).toBe("/jobs?state=Open&mine=1&page=3");
    expect(jobsPath({ state: null, mine: false, page: 1 })).toBe("/jobs");
    expect(readJobsQuery(new URLSearchParams("state=Bogus&page=-1"))).toEqual({ state: null, mine: false, page: 1 });
  });
});
