// Post a job: pick the job, see its manifest checked, set the terms, then upload (signed) and post.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import type { Hash, Hex } from "viem";
import { useConfig, useReadContract } from "wagmi";
import { ManifestView } from "../components/ManifestView";
import { PAUSED_TEXT, useMarketPaused } from "../components/PausedBanner";
import { Amount, ProgressBar } from "../components/common";
import { zipJobFiles, totalSize } from "../lib/archive";
import type { BundlePublic } from "../lib/api";
import { parseCid } from "../lib/cid";
import { bytes, shortHash, tokenAmount } from "../lib/format";
import { crowdMarketAbi } from "../lib/contracts";
import {
  NO_RATES,
  buildJobSpec,
  checkSpecForm,
  escrowOf,
  formFromManifest,
  protocolFeeOf,
  requirementsOf,
  type MarketRates,
  type SpecField,
  type SpecForm,
} from "../lib/jobSpec";
import { lockedRuntime } from "../generated/examples";
import { checkManifest, type FieldProblem } from "../lib/manifest";
import type { PaymentMethod } from "../lib/payment";
import { postJob, signAndUpload, waitForIndexedJob } from "../lib/postFlow";
import { connectedClients } from "../lib/connectedClients";
import { paths } from "../lib/paths";
import { queryKeys } from "../lib/queries";
import { explainError } from "../lib/revert";
import { PLACEHOLDER_DIGEST, pinRuntime, type RuntimePin } from "../lib/runtimePin";
import { useAppConfig, useCrowdBalance, useWallet } from "../lib/wallet";
import { parseAllowlist } from "../lib/sealing/allowlist";
import type { SealedUpload } from "../lib/sealing/postSealed";
import { CLEAR_FORM, ConfidentialFields, type ConfidentialForm } from "./post/ConfidentialFields";
import { PreflightNotice, preflightBlocker } from "./post/PreflightNotice";
import { SourcePicker, type JobSource } from "./post/SourcePicker";
import { SpecFields } from "./post/SpecFields";
import { usePreflight } from "./post/usePreflight";

type Phase =
  | { step: "idle" }
  | { step: "packing" }
  | { step: "keys" }
  | { step: "sealing"; done: number; total: number }
  | { step: "signing" }
  | { step: "uploading"; sent: number; total: number }
  | { step: "allowing"; method: PaymentMethod | null }
  | { step: "posting"; method: PaymentMethod }
  | { step: "confirming"; hash: Hash }
  | { step: "presealing"; jobId: bigint; hash: Hash }
  | { step: "indexing"; jobId: bigint; hash: Hash }
  | { step: "failed"; message: string };

const STEP_ORDER = ["packing", "signing", "uploading", "allowing", "posting", "confirming", "indexing"] as const;
// A confidential post unlocks the keys and seals instead of packing, and may pre-seal after the post.
const SEALED_ORDER = ["keys", "sealing", "signing", "uploading", "allowing", "posting", "confirming", "presealing", "indexing"] as const;
type Step = (typeof SEALED_ORDER)[number] | (typeof STEP_ORDER)[number];
const STEP_TEXT: Record<Step, string> = {
  packing: "Pack the job folder",
  keys: "Sign the key message in your wallet (no gas; once per session): your keys stay in this tab",
  sealing: "Seal the job folder in this browser",
  presealing: "Confirm publishKeys: the content key sealed to each allowlisted provider",
  signing: "Sign the upload in your wallet (no gas)",
  uploading: "Upload the bundle to the gateway",
  allowing: "Allow the market to take the escrow: sign a permit (no gas), or approve exactly the escrow",
  posting: "Confirm postJob in your wallet",
  confirming: "Wait for the transaction",
  indexing: "Wait for the gateway to index the job",
};

const ALLOWING_TEXT: Record<PaymentMethod, string> = {
  allowance: "The market may take the escrow: your standing allowance covers it",
  permit: "Sign a permit for exactly the escrow in your wallet (no gas; it travels with the post)",
  approve: "Confirm an approve of exactly the escrow in your wallet (the token takes no permits)",
};

function differences(form: SpecForm, fromManifest: SpecForm): Partial<Record<SpecField, string>> {
  const out: Partial<Record<SpecField, string>> = {};
  for (const key of ["runTimeout", "mode", "committeeSize", "samplesPerValidator"] as const) {
    if (String(form[key]).trim() !== String(fromManifest[key])) out[key] = String(fromManifest[key]);
  }
  return out;
}

export function PostJobPage() {
  const { config } = useAppConfig();
  const wallet = useWallet();
  const paused = useMarketPaused();
  const { balance, refresh: refreshBalance } = useCrowdBalance();
  const wagmiConfig = useConfig();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [source, setSource] = useState<JobSource | null>(null);
  const [manifestText, setManifestText] = useState("");
  const [gatewayProblems, setGatewayProblems] = useState<FieldProblem[] | null>(null);
  const [form, setForm] = useState<SpecForm>(() => formFromManifest(null));
  const [phase, setPhase] = useState<Phase>({ step: "idle" });
  const [uploaded, setUploaded] = useState<{ text: string; bundle: BundlePublic } | null>(null);
  const [pinned, setPinned] = useState<Extract<RuntimePin, { kind: "pinned" }> | null>(null);
  const [confidential, setConfidential] = useState<ConfidentialForm>(CLEAR_FORM);
  const allowlist = useMemo(() => parseAllowlist(confidential.allowlist), [confidential.allowlist]);
  // What a confidential upload needs again for a retried post: the keys, the bundle's salt, the result key.
  const [sealedUpload, setSealedUpload] = useState<{ text: string; upload: SealedUpload } | null>(null);

  // The protocol fee and the collateral ratio are the market's (immutable) configuration.
  const marketConfig = useReadContract({
    address: config.market ?? undefined,
    abi: crowdMarketAbi,
    functionName: "config",
    query: { enabled: config.market !== null, staleTime: Infinity },
  });
  const rates: MarketRates = marketConfig.status === "success" ? marketConfig.data : NO_RATES;
  const check = useMemo(() => checkManifest(manifestText), [manifestText]);
  const fromManifest = useMemo(() => formFromManifest(check.manifest, rates), [check.manifest, rates]);
  const spec = useMemo(() => checkSpecForm(form, rates), [form, rates]);
  const protocolFee = spec.values ? protocolFeeOf(spec.values.budget, rates.feeBps) : null;
  // Still the examples' placeholder image id (with no id from the gateway, or edited back): runs nowhere.
  const placeholder = useMemo(() => pinRuntime(manifestText, {}).kind === "placeholder", [manifestText]);
  useEffect(() => setGatewayProblems(null), [manifestText]);
  // Before any escrow moves: would a registered provider run it? Posting anyway takes a tick, given anew
  // whenever the reasons change.
  const preflight = usePreflight(check.problems.length ? null : check.manifest, spec.values);
  const [postAnyway, setPostAnyway] = useState(false);
  const reasonsKey = preflight.state === "checked" ? preflight.reasons.join("\n") : "";
  useEffect(() => setPostAnyway(false), [reasonsKey]);

  const pick = (picked: JobSource) => {
    // An archive's manifest cannot be edited here; a folder's or an example's can be pinned.
    const locked = lockedRuntime ? [lockedRuntime.digest] : [];
    const pin = picked.kind === "files" ? pinRuntime(picked.manifestText, config.runtimeImages, locked) : null;
    const text = pin?.kind === "pinned" ? pin.text : picked.manifestText;
    setSource(picked);
    setPinned(pin?.kind === "pinned" ? pin : null);
    setManifestText(text);
    setForm(formFromManifest(checkManifest(text).manifest, rates));
    setUploaded(null);
    setPhase({ step: "idle" });
  };

  const busy = !["idle", "failed"].includes(phase.step);
  const problems = gatewayProblems ?? check.problems;
  const escrow = spec.values
    ? escrowOf(spec.values.budget, spec.values.committeeSize, spec.values.validatorFee, protocolFee ?? 0n)
    : null;
  const short = escrow !== null && balance !== null && balance < escrow;
  const blocker =
    wallet.account === null
      ? "Connect a wallet to post."
      : wallet.wrongChain
        ? `Switch your wallet to chain ${config.chainId}.`
        : !config.market
          ? "The market's address is unknown (no deployment); start the devnet and reload."
          : paused
            ? PAUSED_TEXT
            : confidential.enabled && source?.kind !== "files"
            ? "A confidential job is sealed from a folder or an example: choose a folder (an archive cannot be resealed here)."
            : confidential.enabled && allowlist.error
            ? "Fix the allowlist first."
            : check.problems.length
            ? "Fix the manifest first."
            : placeholder
              ? "job.toml pins the examples' placeholder runtime id, which no provider has: set [runtime] digest to the id of your providers' image."
              : !spec.values
                ? "Fix the terms first."
                : preflightBlocker(preflight, postAnyway);

  // The uploaded bundle is reused for the same text and the same choice of sealing.
  const uploadKey = `${confidential.enabled ? "sealed" : "clear"}\n${manifestText}`;
  const submit = async () => {
    const { account } = wallet;
    if (!source || !spec.values || !account || !config.market) return;
    try {
      const { walletClient, publicClient } = await connectedClients(wagmiConfig);
      let bundle = uploaded?.text === uploadKey ? uploaded.bundle : null;
      let sealing = confidential.enabled && sealedUpload?.text === uploadKey ? sealedUpload.upload : null;
      const providers = confidential.enabled ? allowlist.addresses : [];
      // The sealing code loads with the first confidential post.
      const sealingFlow = confidential.enabled ? await import("../lib/sealing/postSealed") : null;
      if (sealingFlow && providers.length) await sealingFlow.checkAllowlist(publicClient, config.market, providers);
      if (!bundle) {
        let body: Blob;
        let filename: string;
        if (sealingFlow && source.kind === "files") {
          setPhase({ step: "keys" });
          sealing = await sealingFlow.prepareSealedUpload({
            walletClient,
            account,
            chainId: config.chainId,
            files: source.files,
            manifestText,
            onKeys: () => setPhase({ step: "sealing", done: 0, total: totalSize(source.files) }),
            onProgress: (done, total) => setPhase({ step: "sealing", done, total }),
          });
          setSealedUpload({ text: uploadKey, upload: sealing });
          body = sealing.sealed.body;
          filename = "job.tar";
        } else {
          setPhase({ step: "packing" });
          body = source.kind === "files" ? new Blob([(await zipJobFiles(source.files, manifestText)) as Uint8Array<ArrayBuffer>]) : source.file;
          filename = source.kind === "files" ? "job.zip" : source.file.name;
        }
        setPhase({ step: "signing" });
        const result = await signAndUpload({
          walletClient,
          account,
          chainId: config.chainId,
          body,
          filename,
          onSigned: () => setPhase({ step: "uploading", sent: 0, total: body.size }),
          onProgress: (sent, total) => setPhase({ step: "uploading", sent, total }),
        });
        if (!result.ok) {
          if (result.problems.length) setGatewayProblems(result.problems);
          setPhase({ step: "failed", message: result.message });
          return;
        }
        bundle = result.bundle;
        setUploaded({ text: uploadKey, bundle });
      }
      setPhase({ step: "allowing", method: null });
      const resultKey: Hex | undefined = sealing?.resultKey;
      const jobSpec = buildJobSpec(spec.values, requirementsOf(bundle.manifest), parseCid(bundle.cid), rates, resultKey);
      const { jobId, hash } = await postJob({
        publicClient,
        walletClient,
        account,
        market: config.market,
        spec: jobSpec,
        onPayment: (method) => setPhase({ step: "allowing", method }),
        onAllowed: (method) => setPhase({ step: "posting", method }),
        onSent: (sent) => setPhase({ step: "confirming", hash: sent }),
      });
      void refreshBalance();
      if (sealingFlow && sealing && providers.length) {
        setPhase({ step: "presealing", jobId, hash });
        const upload = { keys: sealing.keys, keySalt: sealing.sealed.keySalt };
        await sealingFlow.preSealToAllowlist({ publicClient, walletClient, market: config.market, upload, jobId, providers });
      }
      setPhase({ step: "indexing", jobId, hash });
      await waitForIndexedJob(jobId);
      void queryClient.invalidateQueries({ queryKey: queryKeys.allJobs });
      navigate(paths.job(jobId));
    } catch (error) {
      setPhase({ step: "failed", message: explainError(error) });
    }
  };

  const order: readonly Step[] = confidential.enabled
    ? SEALED_ORDER.filter((step) => step !== "presealing" || allowlist.addresses.length > 0)
    : STEP_ORDER;
  const current = order.indexOf(phase.step as Step);
  return (
    <div className="page">
      <h1>Post a training job</h1>
      <ol className="wizard">
        <li className="card">
          <h2>1. The job</h2>
          {source ? (
            <div className="picked">
              <span>
                <strong>{source.label}</strong>
                {source.kind === "files" && (
                  <span className="muted small">
                    {" "}
                    · {source.files.length} files, {bytes(totalSize(source.files))}
                    {source.skipped ? ` (${source.skipped} skipped: .git, __pycache__ …)` : ""}
                  </span>
                )}
              </span>
              <button type="button" className="button small" disabled={busy} onClick={() => setSource(null)}>
                Choose another
              </button>
            </div>
          ) : (
            <SourcePicker onPick={pick} />
          )}
        </li>
        {source && (
          <li className="card">
            <h2>2. Manifest</h2>
            {source.kind === "files" ? (
              <label className="field">
                <span className="field-label">job.toml (edit here; the upload uses this text)</span>
                <textarea
                  className="mono manifest-editor"
                  value={manifestText}
                  spellCheck={false}
                  disabled={busy}
                  rows={Math.min(24, Math.max(8, manifestText.split("\n").length + 1))}
                  onChange={(event) => setManifestText(event.currentTarget.value)}
                />
              </label>
            ) : (
              <p className="muted small">From the archive (choose a folder to edit it here).</p>
            )}
            {pinned && pinned.text === manifestText && (
              <p className="notice small" role="status">
                Runtime pinned to <span className="mono">{shortHash(pinned.digest, 14)}</span>, the id of {pinned.image} on this network's
                nodes (from the gateway); the job as picked named{" "}
                {pinned.replaced === PLACEHOLDER_DIGEST ? "the placeholder id" : "runtime/image.lock's id, which these nodes did not build"}.
              </p>
            )}
            {placeholder && (
              <p className="problem general" role="alert">
                [runtime] digest is the placeholder <span className="mono">{shortHash(PLACEHOLDER_DIGEST, 14)}</span>: no provider can run this
                job. Set it to the image id your providers run (<code>docker image inspect</code>), or pin the folder with{" "}
                <code>examples/pin_runtime.py</code>.
              </p>
            )}
            <ManifestView manifest={check.manifest} problems={problems} source={gatewayProblems ? "gateway" : "browser"} />
          </li>
        )}
        {source && (
          <li className="card">
            <h2>3. Terms</h2>
            <SpecFields form={form} errors={spec.errors} manifestDiffers={differences(form, fromManifest)} onChange={setForm} disabled={busy} />
            <div className="escrow">
              <div>
                Escrow paid at post: <strong>{escrow === null ? "—" : tokenAmount(escrow)}</strong>
                {spec.values && (
                  <span className="muted small">
                    {" "}
                    = budget <Amount units={spec.values.budget} /> + protocol fee <Amount units={protocolFee ?? 0n} /> ({rates.feeBps / 100} %, burned
                    when the job is accepted, refunded otherwise) + {spec.values.committeeSize} × fee <Amount units={spec.values.validatorFee} />
                  </span>
                )}
              </div>
              <div className="muted small">
                The market takes the escrow within the allowance you give it: a permit you sign (no gas), or an approve of exactly the escrow. Unused fees come back.
              </div>
              {short && <div className="warning">Your balance ({tokenAmount(balance ?? 0n)}) is below the escrow.</div>}
            </div>
            <ConfidentialFields
              form={confidential}
              error={confidential.enabled ? allowlist.error : null}
              onChange={setConfidential}
              disabled={busy}
            />
            {!placeholder && <PreflightNotice preflight={preflight} confirmed={postAnyway} onConfirm={setPostAnyway} disabled={busy} />}
          </li>
        )}
        {source && (
          <li className="card">
            <h2>4. Upload and post</h2>
            {phase.step !== "idle" && phase.step !== "failed" && (
              <ol className="steps">
                {order.map((step, index) => (
                  <li key={step} className={index < current ? "done" : index === current ? "current" : "pending"}>
                    {step === "allowing" && phase.step === "allowing" && phase.method ? ALLOWING_TEXT[phase.method] : STEP_TEXT[step]}
                    {step === "sealing" && phase.step === "sealing" && (
                      <ProgressBar value={phase.total ? phase.done / phase.total : 0} label={`${bytes(phase.done)} of ${bytes(phase.total)}`} />
                    )}
                    {step === "uploading" && phase.step === "uploading" && (
                      <ProgressBar value={phase.total ? phase.sent / phase.total : 0} label={`${bytes(phase.sent)} of ${bytes(phase.total)}`} />
                    )}
                    {step === "confirming" && "hash" in phase && <span className="mono small"> {shortHash(phase.hash)}</span>}
                    {step === "indexing" && (phase.step === "indexing" || phase.step === "presealing") && (
                      <span>
                        {" "}
                        job <Link to={paths.job(phase.jobId)}>#{String(phase.jobId)}</Link>
                      </span>
                    )}
                  </li>
                ))}
              </ol>
            )}
            {phase.step === "failed" && (
              <p className="problem general" role="alert">
                {phase.message}
              </p>
            )}
            {uploaded && uploaded.text === uploadKey && (
              <p className="muted small">
                Bundle uploaded: <span className="mono">{uploaded.bundle.cid}</span> ({bytes(uploaded.bundle.size)}); posting again reuses it.
              </p>
            )}
            <div className="actions">
              <button type="button" className="button primary" disabled={busy || blocker !== null} onClick={() => void submit()}>
                {escrow !== null ? `Upload and post (${tokenAmount(escrow)})` : "Upload and post"}
              </button>
              {blocker && <span className="muted">{blocker}</span>}
            </div>
          </li>
        )}
      </ol>
    </div>
  );
}
