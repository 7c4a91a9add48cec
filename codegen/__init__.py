"""Code generated from one Solidity source of truth (`contracts/market/Types.sol`).

`python -m codegen` compiles the source alone with the project's solc, reads the AST (enums, structs and
constants in declaration order, with their comments) and writes three views of the job layout:

- `chain/generated/job_layout.py`: enums, struct dataclasses, constants and the word layout for Python;
- `frontend/src/generated/jobLayout.ts`: enum labels, constants, field tables and zero structs for the dApp;
- `contracts/generated/JobLayout.sol`: named byte offsets and widths for `JobCodec`.

None of them is committed; `make setup` writes them. This package imports nothing else of ours, so it runs
before the packages that import what it writes.
"""
