// The terms of a job: budget, fees, collateral, run timeout and how the result is verified.
import { Field } from "../../components/common";
import { MODE_INDEX, SPEC_LIMITS, VERIFICATION_MODE, type ModeName } from "../../lib/contracts";
import { duration, parseInteger } from "../../lib/format";
import { MODES, type SpecField, type SpecForm } from "../../lib/jobSpec";

const modeLabel = (mode: ModeName): string =>
  mode === "none" ? "None (optimistic)" : VERIFICATION_MODE[MODE_INDEX[mode]] ?? mode;

const MODE_TEXT: Record<ModeName, string> = {
  segments: "validators re-run sampled training segments",
  shards: "validators re-run sampled shards",
  replicate: "validators re-run the whole job",
  none: "accepted unless validators object",
};

interface SpecFieldsProps {
  form: SpecForm;
  errors: Partial<Record<SpecField, string>>;
  manifestDiffers: Partial<Record<SpecField, string>>;
  onChange: (form: SpecForm) => void;
  disabled: boolean;
}

export function SpecFields({ form, errors, manifestDiffers, onChange, disabled }: SpecFieldsProps) {
  const set = <K extends SpecField>(key: K, value: SpecForm[K]) => onChange({ ...form, [key]: value });
  const input = (key: Exclude<SpecField, "mode" | "reopenOnFailure">, inputMode: "decimal" | "numeric") => (
    <input
      name={key}
      value={form[key]}
      inputMode={inputMode}
      disabled={disabled}
      aria-invalid={Boolean(errors[key])}
      onChange={(event) => set(key, event.currentTarget.value)}
    />
  );
  const timeout = parseInteger(form.runTimeout, 1, 2 ** 32 - 1);
  const note = (key: SpecField) => (manifestDiffers[key] ? `manifest says ${manifestDiffers[key]}` : undefined);
  return (
    <div className="spec-grid">
      <Field label="Budget (CROWD)" error={errors.budget} hint={note("budget") ?? "paid to the provider on acceptance"}>
        {input("budget", "decimal")}
      </Field>
      <Field label="Validator fee (CROWD each)" error={errors.validatorFee} hint={note("validatorFee") ?? "paid to each committee member who votes"}>
        {input("validatorFee", "decimal")}
      </Field>
      <Field label="Provider collateral (CROWD)" error={errors.collateral} hint={note("collateral") ?? "locked from the provider's stake; slashed if it cheats"}>
        {input("collateral", "decimal")}
      </Field>
      <Field
        label="Run timeout (seconds)"
        error={errors.runTimeout}
        hint={note("runTimeout") ?? (timeout.ok ? `deadline ${duration(timeout.value)} after the claim` : undefined)}
      >
        {input("runTimeout", "numeric")}
      </Field>
      <Field label="Verification" error={errors.mode} hint={note("mode") ?? MODE_TEXT[form.mode]}>
        <select name="mode" value={form.mode} disabled={disabled} onChange={(event) => set("mode", event.currentTarget.value as ModeName)}>
          {MODES.map((mode) => (
            <option key={mode} value={mode}>
              {modeLabel(mode)}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Committee size" error={errors.committeeSize} hint={note("committeeSize") ?? `seats drawn by stake to vote (odd, at most ${SPEC_LIMITS.maxCommittee})`}>
        {input("committeeSize", "numeric")}
      </Field>
      <Field label="Samples per validator" error={errors.samplesPerValidator} hint={note("samplesPerValidator") ?? "segments or shards each validator re-runs"}>
        {input("samplesPerValidator", "numeric")}
      </Field>
      <Field label="Voting window (blocks)" error={errors.verifyBlocks} hint={note("verifyBlocks") ?? "1 to 240 blocks after the submission"}>
        {input("verifyBlocks", "numeric")}
      </Field>
      <label className="check spec-wide">
        <input
          type="checkbox"
          name="reopenOnFailure"
          checked={form.reopenOnFailure}
          disabled={disabled}
          onChange={(event) => set("reopenOnFailure", event.currentTarget.checked)}
        />
        Reopen for another provider if rejected or expired (up to 3 times)
      </label>
    </div>
  );
}
