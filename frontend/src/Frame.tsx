// The page frame: header with navigation and wallet, the routed page, and a footer saying which chain.
import { Suspense, useEffect } from "react";
import { Link, NavLink, Outlet, useLocation } from "react-router";
import { Loading } from "./components/common";
import { KeyAgent } from "./components/KeyAgent";
import { PausedBanner } from "./components/PausedBanner";
import { TestWalletBanner, WalletButton } from "./components/WalletButton";
import { shortAddress } from "./lib/format";
import { paths } from "./lib/paths";
import { useReadiness } from "./lib/queries";
import { useAppConfig } from "./lib/wallet";
import { routeOf } from "./routes";

const NAV: { path: string; label: string }[] = [
  { path: paths.jobs, label: "Jobs" },
  { path: paths.post, label: "Post a job" },
  { path: paths.providers, label: "Providers" },
];

/** What the gateway waits for (GET /readyz): the RPC, a deployment, the index catching up. */
function Readiness() {
  const { data } = useReadiness();
  if (!data) return null;
  if (data.ready) return <span className="ready ready-ok">indexed to block {data.last_block ?? "—"}</span>;
  return <span className="ready ready-wait">gateway waiting for: {data.waiting_for.join(", ")}</span>;
}

function Footer() {
  const { config, configLoaded } = useAppConfig();
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

export function Frame() {
  const { pathname } = useLocation();
  const route = routeOf(pathname);
  const title = route?.handle.title(route.params) ?? "Marketplace";
  useEffect(() => {
    document.title = `${title} · crowdcompute`;
  }, [title]);
  // A new page starts at the top (a change of filters on the same page does not scroll).
  useEffect(() => {
    window.scrollTo?.(0, 0);
  }, [pathname]);
  const handle = route?.handle;
  return (
    <div className="app">
      <header className="topbar">
        <Link className="brand" to={paths.home}>
          <span className="logo" aria-hidden="true" />
          crowdcompute
        </Link>
        <nav className="nav" aria-label="Main">
          {NAV.map((item) => (
            <NavLink key={item.path} to={item.path} className={({ isActive }) => (isActive ? "active" : undefined)}>
              {item.label}
            </NavLink>
          ))}
        </nav>
        <WalletButton />
      </header>
      <TestWalletBanner />
      <PausedBanner />
      <KeyAgent />
      <main className="main">
        <Suspense fallback={<Loading what={handle?.loading ?? "Loading the page"} />}>
          <Outlet />
        </Suspense>
      </main>
      <Footer />
    </div>
  );
}
