// The pages react-router renders inside the frame (src/Frame.tsx); their URLs are in src/lib/paths.ts.
// Each page is its own chunk, loaded when first visited.
import { lazy } from "react";
import { Link, matchRoutes, useParams, type Params, type RouteObject } from "react-router";
import { Empty } from "./components/common";
import { shortAddress } from "./lib/format";
import { ADDRESS, JOB_ID, paths } from "./lib/paths";

/** What a route tells the frame: the page's title, what to say while its code loads, and how to load it early. */
export interface PageHandle {
  title: (params: Params) => string;
  loading?: string;
  load?: () => Promise<unknown>;
}

const load = {
  home: () => import("./pages/HomePage"),
  post: () => import("./pages/PostJobPage"),
  jobs: () => import("./pages/JobsPage"),
  job: () => import("./pages/JobPage"),
  providers: () => import("./pages/ProvidersPage"),
  provider: () => import("./pages/ProviderPage"),
};
const HomePage = lazy(() => load.home().then((module) => ({ default: module.HomePage })));
const PostJobPage = lazy(() => load.post().then((module) => ({ default: module.PostJobPage })));
const JobsPage = lazy(() => load.jobs().then((module) => ({ default: module.JobsPage })));
const JobPage = lazy(() => load.job().then((module) => ({ default: module.JobPage })));
const ProvidersPage = lazy(() => load.providers().then((module) => ({ default: module.ProvidersPage })));
const ProviderPage = lazy(() => load.provider().then((module) => ({ default: module.ProviderPage })));

export function NotFound() {
  return (
    <Empty title="This page does not exist">
      <Link to={paths.home}>Back to the start</Link>
    </Empty>
  );
}

function JobRoute() {
  const { id = "" } = useParams();
  return JOB_ID.test(id) ? <JobPage key={id} id={Number(id)} /> : <NotFound />;
}

function ProviderRoute() {
  const { address = "" } = useParams();
  return ADDRESS.test(address) ? <ProviderPage key={address.toLowerCase()} address={address.toLowerCase()} /> : <NotFound />;
}

const handle = (title: PageHandle["title"], load?: () => Promise<unknown>, loading?: string): PageHandle => ({
  title,
  ...(load ? { load } : {}),
  ...(loading ? { loading } : {}),
});

export const pageRoutes: RouteObject[] = [
  { index: true, Component: HomePage, handle: handle(() => "Marketplace", load.home) },
  { path: "post", Component: PostJobPage, handle: handle(() => "Post a job", load.post, "Loading the job form") },
  { path: "jobs", Component: JobsPage, handle: handle(() => "Jobs", load.jobs) },
  { path: "jobs/:id", Component: JobRoute, handle: handle((p) => (JOB_ID.test(p.id ?? "") ? `Job #${p.id}` : "Not found"), load.job) },
  { path: "providers", Component: ProvidersPage, handle: handle(() => "Providers", load.providers) },
  {
    path: "providers/:address",
    Component: ProviderRoute,
    handle: handle((p) => (ADDRESS.test(p.address ?? "") ? `Provider ${shortAddress(p.address ?? "")}` : "Not found"), load.provider),
  },
  { path: "*", Component: NotFound, handle: handle(() => "Not found") },
];

/** The page route for `pathname` (what the frame titles). */
export function routeOf(pathname: string): { handle: PageHandle; params: Params } | null {
  const matches = matchRoutes<RouteObject>([{ children: pageRoutes }], pathname);
  const leaf = matches?.[matches.length - 1];
  return leaf ? { handle: leaf.route.handle as PageHandle, params: leaf.params } : null;
}

/** Start loading the page's code for `pathname` now (at start-up, alongside GET /config). */
export function prefetchPage(pathname: string): void {
  void routeOf(pathname)?.handle.load?.().catch(() => undefined);
}
