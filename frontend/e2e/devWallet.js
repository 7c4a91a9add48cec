// A minimal injected EIP-1193 wallet for browser tests, backed by anvil's unlocked dev accounts: every
// request goes to the node, which signs (eth_sendTransaction, eth_signTypedData_v4) for those accounts.
// Loaded with page.addInitScript(source, { rpcUrl, account, announce }); never part of the dApp's build.
// It sets window.ethereum; with `announce` ({ name, rdns, window: false to skip window.ethereum}) it also
// announces itself through EIP-6963, as wallets do when several are installed side by side.
(({ rpcUrl, account, announce }) => {
  const listeners = new Map();
  let id = 0;
  const rpc = async (method, params = []) => {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: (id += 1), method, params }),
    });
    const body = await response.json();
    if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code, data: body.error.data });
    return body.result;
  };
  let connected = false;
  const provider = {
    isDevWallet: true,
    async request({ method, params }) {
      switch (method) {
        case "eth_requestAccounts":
          connected = true;
          (listeners.get("accountsChanged") ?? []).forEach((fn) => fn([account]));
          return [account];
        case "eth_accounts":
          return connected ? [account] : [];
        case "wallet_switchEthereumChain":
        case "wallet_addEthereumChain":
          return null;
        default:
          return rpc(method, params);
      }
    },
    on(event, fn) {
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
    },
    removeListener(event, fn) {
      listeners.set(event, (listeners.get(event) ?? []).filter((f) => f !== fn));
    },
  };
  if (!announce || announce.window !== false) window.ethereum = provider;
  if (announce) {
    const icon = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23e8590c'/%3E%3C/svg%3E";
    const info = { uuid: `00000000-0000-4000-8000-${[...announce.rdns].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7).toString(16).padStart(12, "0")}`, name: announce.name, icon, rdns: announce.rdns };
    const detail = Object.freeze({ info: Object.freeze(info), provider });
    const announceProvider = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
    window.addEventListener("eip6963:requestProvider", announceProvider);
    announceProvider();
  }
})
