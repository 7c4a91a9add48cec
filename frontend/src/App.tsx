// The dApp: the frame around the routed page, on the browser's own URLs.
import { BrowserRouter, useRoutes } from "react-router";
import { Frame } from "./Frame";
import { pageRoutes } from "./routes";

const appRoutes = [{ Component: Frame, children: pageRoutes }];

function Pages() {
  return useRoutes(appRoutes);
}

export function App() {
  return (
    <BrowserRouter>
      <Pages />
    </BrowserRouter>
  );
}
