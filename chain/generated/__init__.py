"""Views generated from the contracts' Solidity sources by `python -m codegen` (`make setup`); not committed.

`job_layout.py` holds the job's enums, structs, constants and word layout; import them from `chain.types`.
"""
