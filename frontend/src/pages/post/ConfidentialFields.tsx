// The post form's "Confidential" switch: what stays readable, what the tab must do, and the optional allowlist
// of providers the content key is pre-sealed to right after the post.
import { Field } from "../../components/common";

export interface ConfidentialForm {
  enabled: boolean;
  allowlist: string;
}

export const CLEAR_FORM: ConfidentialForm = { enabled: false, allowlist: "" };

export function ConfidentialFields({
  form,
  error,
  onChange,
  disabled,
}: {
  form: ConfidentialForm;
  error: string | null;
  onChange: (form: ConfidentialForm) => void;
  disabled: boolean;
}) {
  return (
    <div className="confidential">
      <label className="check">
        <input
          type="checkbox"
          checked={form.enabled}
          disabled={disabled}
          onChange={(event) => onChange({ ...form, enabled: event.currentTarget.checked })}
        />{" "}
        <strong>Confidential</strong>: seal the job folder in this browser; only ciphertext is uploaded
      </label>
      {form.enabled && (
        <div className="notice small" role="note">
          <p>
            <strong>Stays readable by anyone:</strong> the manifest's [runtime] (image, digest, entrypoint), [resources], [verification] and
            [outputs] tables, because a provider must match the job before it claims it. <strong>Sealed:</strong> the description, [runtime] env
            and every file of the folder; the results come back sealed to you.
          </p>
          <p>
            Your wallet signs a key message once per session (no gas); the keys it gives stay in this tab's memory and are derived again from the
            same signature on any device. <strong>Keep this tab open until a provider claims the job</strong>: the dApp then releases the key to it
            (within a quarter of the run timeout after the claim). Otherwise name providers below to pre-seal to, or run{" "}
            <code>crowdcompute job keys serve</code>.
          </p>
          <p>Not protected: the provider that runs the job sees the plaintext on its machine.</p>
          <Field label="Pre-seal to providers (optional)" error={error ?? undefined} hint="addresses, one a line; each needs a published encryption key">
            <textarea
              className="mono"
              rows={2}
              value={form.allowlist}
              disabled={disabled}
              spellCheck={false}
              placeholder="0x…"
              onChange={(event) => onChange({ ...form, allowlist: event.currentTarget.value })}
            />
          </Field>
        </div>
      )}
    </div>
  );
}
