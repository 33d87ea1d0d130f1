"""Why a lease is live, unknown or orphaned, and why the reaper keeps or releases it: codes,
and the one table that words them. Part of ``leasewatch.model`` (import them from there)."""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Why a lease is live, unknown or orphaned, and why the reaper keeps or releases it.

    The reaper, the audit and ``why`` decide on these, never on words: the words come from
    ``REASON_TEXT`` (one table, filled with a finding's ``facts``) and may change freely.
    The value is the machine-readable ``reason_code`` in JSON output.
    """

    # live
    LIVE_SEEN = "live-seen"
    FIXED_HOST = "fixed-host"
    LIVE_POOL_TAKEN = "live-pool-taken"
    # unknown: never released
    UNKNOWN_NO_MAC = "unknown-no-mac"
    UNKNOWN_MAC_UNREADABLE = "unknown-mac-unreadable"
    UNKNOWN_DUID_ONLY = "unknown-duid-only"
    UNKNOWN_DUID_MAC = "unknown-duid-mac"
    UNWATCHED = "unwatched"
    NO_NETWORK = "no-network"
    UNKNOWN_INVENTORY_FAILED = "unknown-inventory-failed"
    UNKNOWN_INVENTORY_EMPTY = "unknown-inventory-empty"
    UNKNOWN_INVENTORY_SHRUNK = "unknown-inventory-shrunk"
    # orphan
    ORPHAN_NOT_SEEN = "orphan-not-seen"
    # the reaper keeps an orphan (or a lease ``release`` names)
    KEEP_TRUNCATED_FILE = "keep-truncated-file"
    KEEP_NO_BACKEND = "keep-no-backend"
    KEEP_OMAPI_V4_ONLY = "keep-omapi-v4-only"
    KEEP_PROTECTED_MAC = "keep-protected-mac"
    KEEP_PROTECTED_NETWORK = "keep-protected-network"
    KEEP_YOUNG = "keep-young"
    KEEP_GRACE = "keep-grace"
    KEEP_BUDGET = "keep-budget"
    KEEP_FIXED_HOST = "keep-fixed-host"
    KEEP_NO_NETWORK = "keep-no-network"
    KEEP_VM_EXISTS = "keep-vm-exists"
    KEEP_UNCONFIRMED = "keep-unconfirmed"
    KEEP_POOL_TAKEN = "keep-pool-taken"
    KEEP_POOL_KEPT = "keep-pool-kept"
    # a pair (dhcpd failover, Kea HA, declared partners): nothing of it goes while in doubt
    KEEP_PAIR_NOT_NORMAL = "keep-pair-not-normal"
    KEEP_PAIR_UNREAD = "keep-pair-unread"
    KEEP_PAIR_STATE_UNKNOWN = "keep-pair-state-unknown"
    KEEP_PAIR_PEER_MISSING = "keep-pair-peer-missing"
    # the reaper releases
    RELEASE_ORPHAN = "release-orphan"
    RELEASE_REQUESTED = "release-requested"
    RELEASE_FORCED = "release-forced"


# The words for each reason, filled from a finding's or a release's facts. The only place a
# reason is worded: tests reword every entry and check that no decision changes.
REASON_TEXT: dict[Reason, str] = {
    Reason.LIVE_SEEN: "seen by {source}",
    Reason.FIXED_HOST: "fixed-address host",
    Reason.LIVE_POOL_TAKEN: (
        "MAC taken from the pool (leasewatch mac take): its VM may still be booting"
    ),
    Reason.UNKNOWN_NO_MAC: "lease has no hardware address",
    Reason.UNKNOWN_MAC_UNREADABLE: "the lease's hardware address could not be read",
    Reason.UNKNOWN_DUID_ONLY: "IPv6 lease known by its client's DUID only: no MAC to match",
    Reason.UNKNOWN_DUID_MAC: (
        "MAC taken from the client's DUID, which a cloned VM keeps from its template: "
        "not trusted ([reaper] trust_duid_mac)"
    ),
    Reason.UNWATCHED: "no inventory covers network {network}",
    Reason.NO_NETWORK: "address outside every known range: never judged an orphan",
    Reason.UNKNOWN_INVENTORY_FAILED: "inventory unhealthy: {inventories}",
    Reason.UNKNOWN_INVENTORY_EMPTY: "inventory unhealthy: {inventories}",
    Reason.UNKNOWN_INVENTORY_SHRUNK: "inventory unhealthy: {inventories}",
    Reason.ORPHAN_NOT_SEEN: "MAC not seen by {sources}",
    Reason.KEEP_TRUNCATED_FILE: (
        "leases file ended mid-block: not reaping on data that may be half-written"
    ),
    Reason.KEEP_NO_BACKEND: "no release backend configured for this server (omapi / Kea API)",
    Reason.KEEP_OMAPI_V4_ONLY: (
        "a dhcpd -6 lease: dhcpd's OMAPI reaches DHCPv4 leases only, so this server is report-only"
    ),
    Reason.KEEP_PROTECTED_MAC: "protected MAC ([reaper] protect)",
    Reason.KEEP_PROTECTED_NETWORK: "protected network {network} ([reaper] protect)",
    Reason.KEEP_YOUNG: "lease is younger than grace ({grace})",
    Reason.KEEP_GRACE: "missing for {missing}, grace is {grace}",
    Reason.KEEP_BUDGET: "max_per_run ({max_per_run}) reached for this run",
    Reason.KEEP_FIXED_HOST: "fixed-address host: never released",
    Reason.KEEP_NO_NETWORK: "address outside every known range: never released",
    Reason.KEEP_VM_EXISTS: "{finding}: the VM still exists (use --force)",
    Reason.KEEP_UNCONFIRMED: "{finding}: cannot confirm the VM is gone (use --force)",
    Reason.KEEP_POOL_TAKEN: (
        "MAC taken from the pool (leasewatch mac take): its VM may still be booting"
    ),
    Reason.KEEP_POOL_KEPT: (
        "MAC pool: lease kept for the next leasewatch mac take (the VM gets this address back)"
    ),
    Reason.KEEP_PAIR_NOT_NORMAL: "{of} state {state} on {server}",
    Reason.KEEP_PAIR_UNREAD: "pair member {server} could not be read",
    Reason.KEEP_PAIR_STATE_UNKNOWN: "no pair member's {of} state is known live",
    Reason.KEEP_PAIR_PEER_MISSING: (
        "pair {pair}: {read} of its {expected} peers read (a release must reach every peer: "
        "give each its [[servers]] entry)"
    ),
    Reason.RELEASE_ORPHAN: "{finding}; missing for {missing}",
    Reason.RELEASE_REQUESTED: "leasewatch release",
    Reason.RELEASE_FORCED: "leasewatch release --force",
}

Facts = tuple[tuple[str, str], ...]


class _Named(dict[str, str]):
    """A reason's facts; one a wording names but a finding lacks reads as ``?`` (words
    never raise)."""

    def __missing__(self, key: str) -> str:
        return "?"


def describe(code: Reason, facts: Facts = ()) -> str:
    """The words for a reason: the one place they are rendered."""
    return REASON_TEXT[code].format_map(_Named(facts))
