import { gzipSync, unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { archiveKind, filesFromFolderPick, filesFromZip, manifestFromArchive, manifestLocation, tarEntries, zipJobFiles } from "../src/lib/archive";

const encode = (text: string) => new TextEncoder().encode(text);

/** A minimal ustar archive: enough for the reader under test. */
function tar(entries: { name: string; body?: string; type?: string }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const entry of entries) {
    const body = encode(entry.body ?? "");
    const header = new Uint8Array(512);
    header.set(encode(entry.name), 0);
    header.set(encode(body.length.toString(8).padStart(11, "0")), 124);
    header.set(encode(entry.type ?? "0"), 156);
    header.set(encode("ustar\u000000"), 257);
    blocks.push(header);
    const padded = new Uint8Array(Math.ceil(body.length / 512) * 512);
    padded.set(body);
    blocks.push(padded);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.length;
  }
  return out;
}

function fileWithPath(path: string, body: string): File {
  const file = new File([body], path.split("/").pop()!);
  Object.defineProperty(file, "webkitRelativePath", { value: path });
  return file;
}

describe("job folders in the browser", () => {
  it("strips the picked folder's name and leaves junk folders out", () => {
    const pick = filesFromFolderPick([
      fileWithPath("myjob/train.py", "print(1)"),
      fileWithPath("myjob/job.toml", "name = 'x'"),
      fileWithPath("myjob/__pycache__/train.cpython-311.pyc", "x"),
      fileWithPath("myjob/.git/HEAD", "ref"),
    ]);
    expect(pick.folder).toBe("myjob");
    expect(pick.files.map((f) => f.path)).toEqual(["job.toml", "train.py"]);
    expect(pick.skipped).toBe(2);
  });

  it("zips the files with the edited job.toml in place of the original", async () => {
    const files = [
      { path: "job.toml", data: new Blob(["old"]) },
      { path: "data/x.csv", data: new Blob(["1,2"]) },
    ];
    const zipped = unzipSync(await zipJobFiles(files, "new"));
    expect(new TextDecoder().decode(zipped["job.toml"])).toBe("new");
    expect(new TextDecoder().decode(zipped["data/x.csv"])).toBe("1,2");
    expect(filesFromZip(zipSync({ "b.txt": encode("b"), "a.txt": encode("a") })).map((f) => f.path)).toEqual(["a.txt", "b.txt"]);
  });

  it("finds job.toml at the root or inside one wrapping folder", () => {
    expect(manifestLocation(["job.toml", "train.py"])).toBe("job.toml");
    expect(manifestLocation(["job/", "job/job.toml", "job/train.py"])).toBe("job/job.toml");
    expect(manifestLocation(["a/job.toml", "b/train.py"])).toBeNull();
    expect(manifestLocation(["train.py"])).toBeNull();
  });

  it("reads job.toml out of zip, tar and tar.gz uploads", async () => {
    const zip = zipSync({ "job/job.toml": encode("name = 'zip'"), "job/train.py": encode("") });
    const plain = tar([{ name: "job.toml", body: "name = 'tar'" }, { name: "train.py", body: "x" }]);
    expect(await manifestFromArchive(new Blob([zip]))).toEqual({ text: "name = 'zip'" });
    expect(await manifestFromArchive(new Blob([plain as Uint8Array<ArrayBuffer>]))).toEqual({ text: "name = 'tar'" });
    expect(await manifestFromArchive(new Blob([gzipSync(plain)]))).toEqual({ text: "name = 'tar'" });
    expect(await manifestFromArchive(new Blob([zipSync({ "train.py": encode("") })]))).toEqual({ error: "the zip has no job.toml at its root" });
    expect(await manifestFromArchive(new Blob(["hello"]))).toEqual({ error: "not a .zip, .tar or .tar.gz archive" });
  });

  it("reads GNU long names in tar archives", () => {
    const long = `${"d".repeat(120)}/job.toml`;
    const entries = tarEntries(tar([{ name: "././@LongLink", body: long, type: "L" }, { name: "short", body: "x" }]));
    expect(entries.map((e) => e.name)).toEqual([long]);
    expect(archiveKind(tar([{ name: "a" }]))).toBe("tar");
    expect(archiveKind(new Uint8Array(1024))).toBeNull();
  });
});
