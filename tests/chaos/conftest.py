"""Fixtures the chaos requester's tests borrow: the requester tests' gateway, store, requester and provider,
and the validator accounts and verified job of the appeal tests."""

from tests.requester.conftest import (
    deployments_dir,
    gateway_settings,
    gateway_url,
    provider,
    requester,
    store,
)
from tests.requester.test_requester_appeal import validators

__all__ = [
    "deployments_dir",
    "gateway_settings",
    "gateway_url",
    "provider",
    "requester",
    "store",
    "validators",
]
