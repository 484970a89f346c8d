"""Fixtures for the collection tests (moto, decorator mode)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from unittest import mock

import pytest
from moto import mock_aws

from .world import Accounts, World, base_environment


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs the installed sqsdiag against a moto server (tests/collect)")


@pytest.fixture(scope="session", autouse=True)
def cached_rsa_keys() -> Iterator[None]:
    """moto generates an RSA key per KMS key (~50 ms); one per key spec is plenty for tests."""
    from moto.kms.utils import generate_private_key

    with mock.patch("moto.kms.models.generate_private_key", functools.lru_cache(maxsize=None)(generate_private_key)):
        yield


@pytest.fixture
def aws() -> Iterator[Accounts]:
    from moto.organizations.models import organizations_backends

    # moto's member -> management map survives its reset; a stale entry crashes DescribeOrganization
    organizations_backends.master_accounts.clear()
    with mock_aws():
        yield Accounts()
    organizations_backends.master_accounts.clear()


@pytest.fixture
def world(aws: Accounts) -> World:
    return World(aws)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One in-process moto server for the session (stopping one costs 0.5 s); reset per test."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def server(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A world on the moto server, and the base credentials moto accepts for sts:AssumeRole."""
    import urllib.request

    from moto.organizations.models import organizations_backends

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    organizations_backends.master_accounts.clear()
    for name, value in base_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    yield World(Accounts(endpoint_url=moto_endpoint))
    organizations_backends.master_accounts.clear()
