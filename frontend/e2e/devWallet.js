// A minimal injected EIP-1193 wallet for browser tests, backed by anvil's unlocked dev accounts: every
// request goes to the node, which signs (eth_sendTransaction, eth_signTypedData_v4) for those accounts.
// Loaded with page.addInitScript(source, { rpcUrl, account }); never part of the dApp's build.
(({ rpcUrl, account }) => {
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
  window.ethereum = {
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
})
