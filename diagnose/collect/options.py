"""How to reach AWS: region, profiles, endpoint, the role to assume in each account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CollectOptions:
    region: str | None = None  # default region (else from profile/env)
    profile: str | None = None  # default profile for every account
    endpoint_url: str | None = None  # e.g. a local moto server
    account_profiles: Mapping[str, str] = field(default_factory=dict)  # account id -> profile name
    assume_role_name: str | None = None  # role assumed in each account from the base credentials
    max_workers: int = 16
