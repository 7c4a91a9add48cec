// The page frame: header with navigation and wallet, the routed page, and a footer saying which chain.
import { lazy, Suspense, useEffect } from "react";
import { Empty, Loading } from "./components/common";
import { TestWalletBanner, WalletButton } from "./components/WalletButton";
import { api, type ReadinessPublic } from "./lib/api";
import { shortAddress } from "./lib/format";
import { href, useRoute, type Route } from "./lib/router";
import { useAsync } from "./lib/useAsync";
import { useChain } from "./lib/wallet";
import { HomePage } from "./pages/HomePage";
import { JobPage } from "./pages/JobPage";
import { JobsPage } from "./pages/JobsPage";
import { ProviderPage } from "./pages/ProviderPage";
import { ProvidersPage } from "./pages/ProvidersPage";

// Posting pulls in the manifest checker, TOML and zip code: load it only when someone posts.
const PostJobPage = lazy(() => import("./pages/PostJobPage").then((module) => ({ default: module.PostJobPage })));

const NAV: { path: string; label: string; pages: Route["page"][] }[] = [
  { path: "/jobs", label: "Jobs", pages: ["jobs", "job"] },
  { path: "/post", label: "Post a job", pages: ["post"] },
  { path: "/providers", label: "Providers", pages: ["providers", "provider"] },
];

function titleOf(route: Route): string {
  switch (route.page) {
    case "job":
      return `Job #${route.id}`;
    case "jobs":
      return "Jobs";
    case "post":
      return "Post a job";
    case "providers":
      return "Providers";
    case "provider":
      return `Provider ${shortAddress(route.address)}`;
    case "notFound":
      return "Not found";
    default:
      return "Marketplace";
  }
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "home":
      return <HomePage />;
    case "post":
      return (
        <Suspense fallback={<Loading what="Loading the job form" />}>
          <PostJobPage />
        </Suspense>
      );
    case "jobs":
      return <JobsPage query={route.query} />;
    case "job":
      return <JobPage key={route.id} id={route.id} />;
    case "providers":
      return <ProvidersPage />;
    case "provider":
      return <ProviderPage key={route.address} address={route.address} />;
    default:
      return (
        <Empty title="This page does not exist">
          <a href={href("/")}>Back to the start</a>
        </Empty>
      );
  }
}

/** What the gateway waits for (GET /readyz): the RPC, a deployment, the index catching up. */
function Readiness() {
  const { data } = useAsync(
    async () => {
      const result = await api.GET("/readyz");
      return result.data ?? (result.error as ReadinessPublic | undefined) ?? null;
    },
    [],
    15_000,
  );
  if (!data) return null;
  if (data.ready) return <span className="ready ready-ok">indexed to block {data.last_block ?? "—"}</span>;
  return <span className="ready ready-wait">gateway waiting for: {data.waiting_for.join(", ")}</span>;
}

function Footer() {
  const { config, configLoaded } = useChain();
  return (
    <footer className="footer muted small">
      <Readiness />
      <span>
        chain {config.chainId} · RPC {config.rpcUrl}
      </span>
      <span>
        market {config.market ? <span className="mono">{shortAddress(config.market)}</span> : "unknown"}
        {configLoaded && config.source !== "gateway" && ` (from ${config.source} settings)`}
      </span>
      <a href="/docs">API</a>
    </footer>
  );
}

export function App() {
  const route = useRoute();
  useEffect(() => {
    document.title = `${titleOf(route)} · crowdcompute`;
    window.scrollTo?.(0, 0);
  }, [route.page, route.page === "job" ? route.id : null]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href={href("/")}>
          <span className="logo" aria-hidden="true" />
          crowdcompute
        </a>
        <nav className="nav" aria-label="Main">
          {NAV.map((item) => (
            <a key={item.path} href={href(item.path)} className={item.pages.includes(route.page) ? "active" : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <WalletButton />
      </header>
      <TestWalletBanner />
      <main className="main">
        <Page route={route} />
      </main>
      <Footer />
    </div>
  );
}
