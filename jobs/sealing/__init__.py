"""Confidential jobs' cryptography (docs/confidential.md): sealed streams, key seals, keys, sealed bundles
and sealed result trees.

* `stream`: `seal_stream`/`open_stream` and `seal_file`/`open_file` (AES-256-GCM chunks, all or nothing);
* `seals`: `seal_key`/`open_key` (HPKE base mode, X25519 / HKDF-SHA256 / AES-128-GCM);
* `requester`: `key_message` and `RequesterKeys` (keys derived from one wallet signature);
* `keyring`: `NodeKeyring`, a provider's or validator's X25519 keys on disk; `keys.KeyPair`;
* `bundle`: `seal_job_folder`, `is_sealed_folder`, `sealed_info`, `open_job_folder`;
* `results`: `seal_result_tree`, `is_sealed_tree`, `open_result_tree`.

Errors: `SealingError` (a `JobsError`) > `SealedDataError` (a file, naming it and the reason),
`SealedKeyError` (a key seal, naming the job).
"""

from jobs.sealing.bundle import (
    SealedBundleInfo,
    is_sealed_folder,
    open_job_folder,
    seal_job_folder,
    sealed_info,
)
from jobs.sealing.errors import SealedDataError, SealedKeyError, SealingError
from jobs.sealing.keyring import NodeKeyring
from jobs.sealing.keys import KeyPair
from jobs.sealing.requester import RequesterKeys, key_message
from jobs.sealing.results import is_sealed_tree, open_result_tree, seal_result_tree
from jobs.sealing.seals import open_key, seal_key
from jobs.sealing.stream import open_file, open_stream, seal_file, seal_stream

__all__ = [
    "KeyPair",
    "NodeKeyring",
    "RequesterKeys",
    "SealedBundleInfo",
    "SealedDataError",
    "SealedKeyError",
    "SealingError",
    "is_sealed_folder",
    "is_sealed_tree",
    "key_message",
    "open_file",
    "open_job_folder",
    "open_key",
    "open_result_tree",
    "open_stream",
    "seal_file",
    "seal_job_folder",
    "seal_key",
    "seal_result_tree",
    "seal_stream",
    "sealed_info",
]
