// Runs the dApp's own post-form code on manifests and prints the JobSpec it would post for each.
// stdin: [{manifest, digest, codec}] (manifest as JSON, the way the dApp parses job.toml); stdout: a list of
// JobSpecs (amounts as decimal strings), or {"errors": {...}} where the form refuses a manifest.
// Used by test_requester_spec.py to hold crowdcompute.requester.spec to the dApp's rules.
import { readFileSync } from "node:fs";
import type { ChainCid } from "../../frontend/src/lib/cid";
import { buildJobSpec, checkSpecForm, formFromManifest, requirementsOf } from "../../frontend/src/lib/jobSpec";

interface Case {
  manifest: Record<string, unknown>;
  digest: string;
  codec: number;
}

const cases = JSON.parse(readFileSync(0, "utf8")) as Case[];
const specs = cases.map(({ manifest, digest, codec }) => {
  const check = checkSpecForm(formFromManifest(manifest));
  const bundle = { digest, codec } as ChainCid;
  return check.values ? buildJobSpec(check.values, requirementsOf(manifest), bundle) : { errors: check.errors };
});
process.stdout.write(JSON.stringify(specs, (_key, value) => (typeof value === "bigint" ? value.toString() : value)));
