import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { pathOfLegacyHash } from "./lib/paths";
import { AppProviders } from "./lib/wallet";
import { prefetchPage } from "./routes";
import "./styles.css";

// Links from the earlier dApp (`/#/jobs/12`) open the page at its real URL.
const legacy = pathOfLegacyHash(window.location.hash);
if (legacy) window.history.replaceState(null, "", legacy);
// The page's code downloads while the chain settings load.
prefetchPage(window.location.pathname);

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");
createRoot(root).render(
  <StrictMode>
    <AppProviders>
      <App />
    </AppProviders>
  </StrictMode>,
);
