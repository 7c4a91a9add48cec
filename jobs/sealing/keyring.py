"""A provider's or validator's X25519 keys on disk (docs/confidential.md, "Keys").

`<data-dir>/encryption-keys/` (mode 0700) holds one file per key, `<public hex>.json` (mode 0600), with
the private half and a sequence number: the key with the highest number is current, whatever the
files' mtimes say. Older keys stay, so what was sealed to them before a rotation still opens.
Each file is written to a temporary name, synced and then linked into place, so a crash never leaves a
half-written key under a real name.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jobs.sealing.errors import SealingError
from jobs.sealing.keys import KeyPair

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_SUFFIX = ".json"
_FORMAT = "crowdcompute-x25519-v1"


@dataclass(frozen=True)
class _Record:
    sequence: int
    pair: KeyPair


class NodeKeyring:
    """The X25519 keys in `folder` (created on first write)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _records(self) -> list[_Record]:
        if not self.folder.is_dir():
            return []
        records = [self._read(path) for path in self.folder.iterdir() if path.name.endswith(_SUFFIX)]
        return sorted(records, key=lambda record: (record.sequence, record.pair.public))

    def _read(self, path: Path) -> _Record:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            raise SealingError(f"{path} is not a regular file; remove it from the key folder")
        if info.st_mode & 0o077:
            raise SealingError(
                f"{path} can be read by other users (mode {stat.S_IMODE(info.st_mode):o}); "
                f"run `chmod 600 {path}` and consider rotating the key"
            )
        try:
            data = json.loads(path.read_text())
            if data.get("format") != _FORMAT:
                raise ValueError(f"format is not {_FORMAT!r}")
            pair = KeyPair.from_private(bytes.fromhex(data["private"]))
            sequence = int(data["sequence"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SealingError(f"{path} is not a readable encryption key ({exc}); move it away") from None
        if path.name != pair.public.hex() + _SUFFIX:
            raise SealingError(f"{path} holds the key {pair.public.hex()}, not the one its name says")
        return _Record(sequence, pair)

    def all(self) -> list[KeyPair]:
        """Every key, oldest first."""
        return [record.pair for record in self._records()]

    def current(self) -> KeyPair | None:
        """The newest key, or None when there is none yet."""
        records = self._records()
        return records[-1].pair if records else None

    def find(self, public: bytes) -> KeyPair | None:
        """The key whose public half is `public` (current or rotated out), or None."""
        path = self.folder / (public.hex() + _SUFFIX)
        if not path.exists():
            return None
        return self._read(path).pair

    def create(self) -> KeyPair:
        """A new key, now the current one (the first one, or a rotation)."""
        records = self._records()
        sequence = records[-1].sequence + 1 if records else 1
        pair = KeyPair.generate()
        self._write(pair, sequence)
        return pair

    def rotate(self) -> KeyPair:
        """A new current key; the old ones stay to open what was sealed to them."""
        return self.create()

    def _write(self, pair: KeyPair, sequence: int) -> None:
        self.folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        os.chmod(self.folder, FOLDER_MODE)
        text = json.dumps(
            {
                "format": _FORMAT,
                "sequence": sequence,
                "public": pair.public.hex(),
                "private": pair.private.hex(),
            }
        )
        fd, temp = tempfile.mkstemp(prefix=".key-", suffix=".tmp", dir=self.folder)  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, FILE_MODE)
            # link, not rename: never replaces an existing key file
            os.link(temp, self.folder / (pair.public.hex() + _SUFFIX))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        _sync_folder(self.folder)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
