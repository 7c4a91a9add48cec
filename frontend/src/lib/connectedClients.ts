// The clients a page sends with: the connected wallet's own client (an injected wallet's, or the test
// wallet's local account) and a public client for simulating and waiting. viem's wallet and public
// actions are a large part of the bundle, so they load when a page first sends something.
import type { PublicClient, WalletClient } from "viem";
import type { Config } from "wagmi";

export async function connectedClients(config: Config): Promise<{ walletClient: WalletClient; publicClient: PublicClient }> {
  const { getPublicClient, getWalletClient } = await import("wagmi/actions");
  const walletClient = await getWalletClient(config);
  const publicClient = getPublicClient(config);
  if (!publicClient) throw new Error("the dApp's chain is not configured");
  return { walletClient, publicClient: publicClient as PublicClient };
}
