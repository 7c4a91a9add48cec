"""The gateway's signed-request protocol, spoken by the gateway (`api/`), the requester library
(`crowdcompute.requester`), the provider's log pusher (`provider_node.logs_push`) and the dApp.

Domain (every message): ``{name: "crowdcompute-gateway", version: "2", chainId: <gateway's chain id>}``
(no verifyingContract, no salt). Signatures are 65 bytes (r || s || v), v in {27, 28} (or 0/1), and low-s
(s <= secp256k1n / 2, as every current signer makes them): the gateway refuses the other, malleable form.

``Request {string method; string path; uint64 expiry; bytes32 nonce; bytes32 bodyHash; string gateway}``
authorises one write request (``POST /bundles``, ``POST /jobs/{id}/results/{cid}``). ``method`` is upper
case, ``path`` the URL path without the query string (``/bundles``), ``expiry`` unix seconds (at most
`signature_max_skew_s` ahead), ``nonce`` 32 random bytes, usable once, ``bodyHash`` SHA-256 of the uploaded
bytes (the ``file`` part of ``POST /bundles``, the raw body of a result upload), ``gateway`` the authority
the client addresses, exactly the ``Host`` header it sends, lower case (``127.0.0.1:8000``; no port when
it is the scheme's default; `gateway_authority`). The gateway checks the signature before it reads the
body, then refuses the upload, storing nothing, when the bytes it received hash to anything else; a
request signed for one gateway is refused by another. Headers: ``X-Crowd-Address``, ``X-Crowd-Expiry``
(decimal), ``X-Crowd-Nonce`` (0x + 64 hex), ``X-Crowd-Body-Hash`` (0x + 64 hex), ``X-Crowd-Signature``
(0x + 130 hex, r || s || v).

``LogBatch {uint256 jobId; uint64 fromSeq; bytes32 linesHash; uint64 expiry}`` authorises one log push
(``POST /jobs/{jobId}/logs``): ``fromSeq`` is the first line's ``seq`` in the batch and ``linesHash`` is
keccak256 of the exact request body bytes. Headers: ``X-Crowd-Address``, ``X-Crowd-Expiry``,
``X-Crowd-Signature``. Replaying a batch is harmless: lines are stored once per (job, seq).

``ProviderReport {uint256 jobId; bytes32 bodyHash; uint64 expiry}`` authorises one provider report
(``POST /jobs/{jobId}/reports``): why the provider skips the open job, or the energy a job it ran used
(`gateway_protocol.reports`). ``bodyHash`` is keccak256 of the exact request body bytes. The signer must
be a provider registered on chain (energy: the job's provider). Headers: ``X-Crowd-Address``,
``X-Crowd-Expiry``, ``X-Crowd-Signature``. The gateway keeps the latest report of each kind per
(job, provider) and limits how often an address reports.

Committee votes (`gateway_protocol.votes`): ``POST /jobs/{jobId}/votes`` with a seat's signed vote
(`chain.votes.SignedVote.to_json()`, signed EIP-712 ``Vote`` of the market's own domain, the signature
``finalize`` checks; no request headers), ``GET /jobs/{jobId}/votes`` for every vote once revealed
(after the window, or once every seat voted). Clients: `post_vote`, `fetch_votes`.

A caller without a key of its own (a script, an operator) sends ``X-API-Key`` instead.
"""

from gateway_protocol.logs import (
    LOG_LINE_MAX_BYTES,
    LogLineWire,
    LogStream,
    log_batch_body,
    log_path,
)
from gateway_protocol.reports import (
    REPORT_KIND_MAX_CHARS,
    REPORT_REASON_MAX_CHARS,
    EnergyReportWire,
    ProviderReportWire,
    SkipReportWire,
    report_body,
    report_path,
)
from gateway_protocol.signing import (
    ADDRESS_HEADER,
    API_KEY_HEADER,
    BODY_HASH_HEADER,
    DOMAIN_NAME,
    DOMAIN_VERSION,
    EXPIRY_HEADER,
    LOG_BATCH_TYPE,
    NONCE_HEADER,
    PROVIDER_REPORT_TYPE,
    REQUEST_TYPE,
    SIGNATURE_HEADER,
    Signer,
    body_hash,
    file_body_hash,
    gateway_authority,
    lines_hash,
    log_batch_headers,
    log_batch_typed_data,
    new_nonce,
    provider_report_headers,
    provider_report_typed_data,
    recover_signer,
    request_headers,
    request_typed_data,
    sign_typed_data,
)
from gateway_protocol.votes import (
    ROUND_NOT_RELAYED,
    VOTES_PENDING,
    VOTES_REVEALED,
    VoteRelayError,
    fetch_votes,
    post_vote,
    votes_path,
)

__all__ = [
    "ADDRESS_HEADER",
    "API_KEY_HEADER",
    "BODY_HASH_HEADER",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "EXPIRY_HEADER",
    "LOG_BATCH_TYPE",
    "LOG_LINE_MAX_BYTES",
    "NONCE_HEADER",
    "PROVIDER_REPORT_TYPE",
    "REPORT_KIND_MAX_CHARS",
    "REPORT_REASON_MAX_CHARS",
    "REQUEST_TYPE",
    "ROUND_NOT_RELAYED",
    "SIGNATURE_HEADER",
    "VOTES_PENDING",
    "VOTES_REVEALED",
    "EnergyReportWire",
    "LogLineWire",
    "LogStream",
    "ProviderReportWire",
    "Signer",
    "SkipReportWire",
    "VoteRelayError",
    "body_hash",
    "fetch_votes",
    "file_body_hash",
    "gateway_authority",
    "lines_hash",
    "log_batch_body",
    "log_batch_headers",
    "log_batch_typed_data",
    "log_path",
    "new_nonce",
    "post_vote",
    "provider_report_headers",
    "provider_report_typed_data",
    "recover_signer",
    "report_body",
    "report_path",
    "request_headers",
    "request_typed_data",
    "sign_typed_data",
    "votes_path",
]
