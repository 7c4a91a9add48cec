// A confidential job's panel on its page (loaded only for confidential jobs): its key events, what this tab's
// key agent did, and the download that opens the result in the browser.
import { useState, useSyncExternalStore } from "react";
import { useConfig } from "wagmi";
import { AddressLink } from "../../components/common";
import { TERMINAL_STATES, type JobDetailPublic } from "../../lib/api";
import { connectedClients } from "../../lib/connectedClients";
import { explainError } from "../../lib/revert";
import { SealingError } from "../../lib/sealing/errors";
import { useAgentStatus, type AgentStatus } from "../../lib/sealing/keyAgent";
import type { KeyEvent } from "../../lib/sealing/keyRelease";
import { knownRequesterKeys, requesterKeysVersion, subscribeRequesterKeys } from "../../lib/sealing/keySession";
import { requesterKeys } from "../../lib/sealing/requesterKeys";
import { openConfidentialResult, resultKeySeal, saveBlob, type DownloadStep } from "../../lib/sealing/resultDownload";
import { useAppConfig, useWallet } from "../../lib/wallet";
import type { ConfidentialJob } from "./Confidential";

function describeEvent(event: KeyEvent, confidential: ConfidentialJob) {
  const requester = confidential.job.spec.requester.toLowerCase();
  if (event.kind === "released") {
    return (
      <>
        content key released to <AddressLink address={event.provider} to="provider" /> at block {String(event.blockNumber)}
        {event.recorded ? "" : " (after the key window: not recorded)"}
      </>
    );
  }
  const to = event.recipient.toLowerCase() === requester ? "the requester (result key)" : null;
  const from = event.sender.toLowerCase() === requester ? "requester pre-sealed the content key to" : "sealed by";
  return (
    <>
      {event.sender.toLowerCase() === requester ? from : <>{from} <AddressLink address={event.sender} /> to</>}{" "}
      {to ?? <AddressLink address={event.recipient} />} at block {String(event.blockNumber)}
    </>
  );
}

function AgentLine({ status }: { status: AgentStatus | null }) {
  if (!status) return null;
  if (status.kind === "working") return <p className="notice small">Releasing the content key to {status.provider}… (confirm in your wallet)</p>;
  if (status.kind === "released") {
    return (
      <p className="notice small" role="status">
        Key released to {status.provider} at block {String(status.blockNumber)}
        {status.recorded ? "" : " (after the key window: not recorded)"}.
      </p>
    );
  }
  return (
    <p className="problem general small" role="alert">
      Key not released to {status.provider}: {status.reason}
    </p>
  );
}

const STEP_TEXT: Record<DownloadStep, string> = {
  keys: "Sign the key message in your wallet (once per session)",
  "result key": "Opening the result key the provider sealed to you",
  fetching: "Fetching the sealed result",
  opening: "Opening",
  checking: "Checking the checkpoints against the committed root",
};

export default function ConfidentialPanel({ job, confidential }: { job: JobDetailPublic; confidential: ConfidentialJob }) {
  const { config } = useAppConfig();
  const wallet = useWallet();
  const wagmiConfig = useConfig();
  const agent = useAgentStatus(job.id);
  useSyncExternalStore(subscribeRequesterKeys, requesterKeysVersion);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ tone: "good" | "bad"; text: string } | null>(null);
  const isRequester = wallet.account !== null && wallet.account.toLowerCase() === confidential.job.spec.requester.toLowerCase();
  const unlocked = isRequester && wallet.account !== null && knownRequesterKeys(wallet.account, config.chainId) !== null;

  const unlock = async () => {
    if (!wallet.account) return;
    setMessage(null);
    try {
      const { walletClient } = await connectedClients(wagmiConfig);
      await requesterKeys(walletClient, wallet.account, config.chainId);
      setMessage({ tone: "good", text: "Keys unlocked for this tab: the key agent now answers claims of your confidential jobs." });
    } catch (error) {
      setMessage({ tone: "bad", text: explainError(error) });
    }
  };

  const download = async () => {
    if (!wallet.account || !job.result_cid) return;
    setMessage(null);
    try {
      const { walletClient } = await connectedClients(wagmiConfig);
      const { tar, checkpoints } = await openConfidentialResult({
        walletClient,
        account: wallet.account,
        chainId: config.chainId,
        jobId: BigInt(job.id),
        job: confidential.job,
        events: confidential.events,
        resultCid: job.result_cid,
        onStep: (step, detail) => setBusy(detail ? `${STEP_TEXT[step]} ${detail}` : STEP_TEXT[step]),
      });
      saveBlob(tar, `job-${job.id}-result.tar`);
      const listed = `${checkpoints.count} checkpoint digest${checkpoints.count === 1 ? "" : "s"} match the committed root ${checkpoints.root.slice(0, 10)}…`;
      setMessage({ tone: "good", text: `Opened every file of the result (${listed}) and saved job-${job.id}-result.tar (${tar.size} bytes).` });
    } catch (error) {
      setMessage({ tone: "bad", text: error instanceof SealingError ? `Cannot open the result: ${error.message}` : explainError(error) });
    } finally {
      setBusy(null);
    }
  };

  const hasResultKey = resultKeySeal(confidential.events, confidential.job) !== null;
  return (
    <div className="confidential-job">
      <p className="muted small">
        The bundle and the results are sealed: only the requester, the provider whose claim is mined and the drawn committee can open them.
        The manifest's runtime, resources, verification and outputs stay readable.
      </p>
      <h3>Key events</h3>
      {confidential.events.length ? (
        <ul className="key-events small">
          {confidential.events.map((event, index) => (
            <li key={index}>{describeEvent(event, confidential)}</li>
          ))}
        </ul>
      ) : (
        <p className="muted small">No key released or sealed yet.</p>
      )}
      {isRequester && <AgentLine status={agent} />}
      {isRequester && !unlocked && !TERMINAL_STATES.has(job.state) && (
        <p className="small">
          Your keys are not unlocked in this tab, so it cannot release the content key when a provider claims.{" "}
          <button type="button" className="button small" onClick={() => void unlock()}>
            Unlock keys (sign, no gas)
          </button>
        </p>
      )}
      {job.result_cid && isRequester && (
        <div className="actions">
          <button type="button" className="button primary" disabled={busy !== null || !hasResultKey} onClick={() => void download()}>
            {busy ?? "Open and download the result"}
          </button>
          {!hasResultKey && <span className="muted small">Waiting for the provider to seal the result key to you.</span>}
        </div>
      )}
      {message && (
        <p className={message.tone === "bad" ? "problem general" : "notice"} role={message.tone === "bad" ? "alert" : "status"}>
          {message.text}
        </p>
      )}
    </div>
  );
}
