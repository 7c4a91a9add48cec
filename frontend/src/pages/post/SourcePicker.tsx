// Where a job comes from: an example template, a folder, or a .zip / .tar / .tar.gz archive.
import { useState } from "react";
import { exampleJobs } from "../../generated/examples";
import { filesFromFolderPick, filesFromZip, manifestFromArchive, type JobFile } from "../../lib/archive";
import { bytes } from "../../lib/format";
import { MANIFEST_FILENAME } from "../../lib/manifest";

export type JobSource =
  | { kind: "files"; label: string; files: JobFile[]; skipped: number; manifestText: string }
  | { kind: "archive"; label: string; file: File; manifestText: string };

const exampleUrls = import.meta.glob("../../generated/examples/*.zip", { query: "?url", import: "default", eager: true }) as Record<
  string,
  string
>;

function exampleUrl(folder: string): string | undefined {
  return exampleUrls[`../../generated/examples/${folder}.zip`];
}

async function manifestOf(files: JobFile[]): Promise<string> {
  const manifest = files.find((f) => f.path === MANIFEST_FILENAME);
  return manifest ? await manifest.data.text() : "";
}

export function SourcePicker({ onPick }: { onPick: (source: JobSource) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (work: () => Promise<JobSource>) => {
    setBusy(true);
    setError(null);
    try {
      onPick(await work());
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : String(reason));
    } finally {
      setBusy(false);
    }
  };

  const pickExample = (folder: string) =>
    run(async () => {
      const url = exampleUrl(folder);
      if (!url) throw new Error(`example ${folder} is not bundled in this build`);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`example ${folder}: the page answered ${response.status}`);
      const files = filesFromZip(new Uint8Array(await response.arrayBuffer()));
      return { kind: "files", label: `example ${folder}`, files, skipped: 0, manifestText: await manifestOf(files) };
    });

  const pickFolder = (list: FileList | null) => {
    if (!list?.length) return;
    void run(async () => {
      const pick = filesFromFolderPick(list);
      if (!pick.files.length) throw new Error("the folder is empty");
      return { kind: "files", label: `folder ${pick.folder || "(chosen)"}`, files: pick.files, skipped: pick.skipped, manifestText: await manifestOf(pick.files) };
    });
  };

  const pickArchive = (list: FileList | null) => {
    const file = list?.[0];
    if (!file) return;
    void run(async () => {
      const found = await manifestFromArchive(file);
      if ("error" in found) throw new Error(`${file.name}: ${found.error}`);
      return { kind: "archive", label: `${file.name} (${bytes(file.size)})`, file, manifestText: found.text };
    });
  };

  return (
    <div className="source-picker">
      <div className="source-options">
        <section className="card source">
          <h3>Start from an example</h3>
          {exampleJobs.length === 0 ? (
            <p className="muted">No examples in this build (add folders with a job.toml under examples/ and rebuild).</p>
          ) : (
            <ul className="examples">
              {exampleJobs.map((example) => (
                <li key={example.folder}>
                  <button type="button" className="example" disabled={busy} onClick={() => void pickExample(example.folder)}>
                    <strong>{example.name}</strong>
                    <span className="muted small">{example.description || `${example.files} files`}</span>
                    <span className="muted small">
                      {example.files} files · {bytes(example.bytes)}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card source">
          <h3>Your job folder</h3>
          <p className="muted small">A folder with job.toml at its root, your code and data.</p>
          <label className="button">
            Choose folder…
            <input
              type="file"
              className="visually-hidden"
              disabled={busy}
              // React does not know the non-standard attribute; the browser does.
              {...{ webkitdirectory: "", directory: "" }}
              multiple
              onChange={(event) => pickFolder(event.currentTarget.files)}
            />
          </label>
        </section>
        <section className="card source">
          <h3>An archive</h3>
          <p className="muted small">.zip, .tar or .tar.gz of the job folder.</p>
          <label className="button">
            Choose archive…
            <input
              type="file"
              className="visually-hidden"
              accept=".zip,.tar,.tgz,.tar.gz,application/zip,application/x-tar,application/gzip"
              disabled={busy}
              onChange={(event) => pickArchive(event.currentTarget.files)}
            />
          </label>
        </section>
      </div>
      {busy && <p className="muted">Reading…</p>}
      {error && (
        <p className="problem general" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
