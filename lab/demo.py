"""``python -m lab.demo --kind isc`` (``make demo``): the seed's story, told by real servers.

A test suite clones VMs with random MACs and destroys them without releasing their leases;
after a while the 21-address pool is dry and a new VM gets no address. Then leasewatch finds
the orphaned leases and gives them back to dhcpd over OMAPI, and new VMs boot again.

Everything runs in network namespaces this program creates (198.18.0.0/15 only), and is
removed at the end, on Ctrl-C, and on SIGTERM. Exit status 0 when the story ends as it
should; 1 when a step did not (the message says which).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule

from lab.dnsmasq import DnsmasqLab
from lab.isc import IscLab
from lab.kea import KeaLab
from lab.macpool import Churn, churn, pool_config
from lab.netns import install_exit_handlers
from lab.vm import Vm

POOL = 21
DESTROY = 15
NEW = 3
CLONES = 60  # the MAC pool act: VMs cloned and destroyed one after another


# What differs between the two servers' telling of the story.
WORDS = {
    "isc": {
        "server": "dhcpd",
        "how": "over OMAPI",
        "title": "real ISC dhcpd 4.4",
        "refusal": "no free leases",
        "api": "OMAPI on",
    },
    "kea": {
        "server": "kea-dhcp4",
        "how": "with lease4-del",
        "title": "real Kea 2.2",
        "refusal": KeaLab.NO_ADDRESS_LOG,
        "api": "lease_cmds hook on",
    },
    "dnsmasq": {
        "server": "dnsmasq",
        "how": "with dhcp_release, each confirmed by re-reading the lease file",
        "title": "real dnsmasq 2.90",
        "refusal": DnsmasqLab.NO_ADDRESS_LOG,
        "api": "released with dhcp_release in its namespace",
    },
    "dnsmasq-libvirt": {
        "server": "dnsmasq",
        "how": "with dhcp_release, each confirmed by re-reading libvirt's status file",
        "title": "real dnsmasq 2.90 run as libvirt runs it",
        "refusal": DnsmasqLab.NO_ADDRESS_LOG,
        "api": "--leasefile-ro, libvirt's leases helper keeping the status file",
    },
    "dnsmasq-libvirtd": {
        "server": "dnsmasq",
        "how": "with dhcp_release, each confirmed through virNetworkGetDHCPLeases",
        "title": "real libvirtd 9.0 and the dnsmasq it runs",
        "refusal": DnsmasqLab.NO_ADDRESS_LOG,
        "api": "run by libvirtd's network driver, read through libvirt's API",
    },
}

# The dnsmasq lab flavour behind each dnsmasq kind of the demo.
DNSMASQ_FLAVOURS = {
    "dnsmasq": "plain",
    "dnsmasq-libvirt": "libvirt",
    "dnsmasq-libvirtd": "libvirtd",
}

Lab = IscLab | KeaLab | DnsmasqLab


class StoryError(RuntimeError):
    """A step of the story did not turn out as it must."""


@dataclass
class Story:
    """What happened, for the end-to-end test to check."""

    first: list[Vm] = field(default_factory=list)
    destroyed: list[Vm] = field(default_factory=list)
    kept: list[Vm] = field(default_factory=list)
    stranded: Vm | None = None
    newcomers: list[Vm] = field(default_factory=list)
    exit_codes: dict[str, int] = field(default_factory=dict)
    kept_unchanged: bool = False  # the live VMs' dhclients still hold their first lease

    def wrong(self) -> list[str]:
        """What did not end as the story must (empty: it did), for the end-to-end tests."""
        freed = {vm.ip for vm in self.destroyed}
        checks = [
            (len(self.first) == POOL, f"{len(self.first)} VMs booted, not {POOL}"),
            (len(self.destroyed) == DESTROY, f"{len(self.destroyed)} destroyed, not {DESTROY}"),
            (self.stranded is not None and self.stranded.ip is None, "the pool was not dry"),
            (set(self.exit_codes.values()) == {0}, f"leasewatch's exit codes: {self.exit_codes}"),
            (len(self.newcomers) == NEW, f"{len(self.newcomers)} new VMs, not {NEW}"),
            ({vm.ip for vm in self.newcomers} <= freed, "a new VM got no released address"),
            (self.kept_unchanged, "a live VM's lease changed"),
            (len(self.kept) == POOL - DESTROY, f"{len(self.kept)} live VMs kept"),
        ]
        return [what for held, what in checks if not held]


def leasewatch(console: Console, config: Path, *args: str, title: str, check: bool = True) -> int:
    """Run the real ``leasewatch`` CLI (a subprocess), its output straight to the terminal."""
    argv = [sys.executable, "-m", "leasewatch", "-c", str(config), *args]
    console.print(Rule(f"[bold]$ leasewatch {' '.join(args)}[/]  [dim]{title}[/]"))
    sys.stdout.flush()
    env = dict(os.environ)
    env.setdefault("COLUMNS", str(console.width))
    done = subprocess.run(argv, env=env, check=False)
    if check and done.returncode not in (0,):
        raise StoryError(f"leasewatch {' '.join(args)} exited {done.returncode}")
    return done.returncode


def tell(console: Console, lab: Lab, story: Story, kind: str = "isc") -> None:
    """The story itself, on a running lab."""
    words = WORDS[kind]
    layout = lab.layout
    say = console.print
    say(
        Panel.fit(
            f"[bold]{words['server']}[/] {layout.server_ip} serves [bold]{layout.subnet}[/]: "
            f"gateway {layout.gateway}, statics up to {layout.first - 1}, pool "
            f"[bold]{layout.first} - {layout.last}[/] ({layout.pool_size} addresses), "
            f"three-day leases, {words['api']}.\nThe hypervisor boots VMs with random MACs; each "
            "runs a real dhclient.",
            title=f"The lab (network namespaces, {words['title']})",
        )
    )

    say(Rule("[bold]Monday[/]: the test suite clones 21 VMs"))
    story.first = lab.boot(POOL)
    missing = [vm.name for vm in story.first if vm.ip is None]
    if missing:
        raise StoryError(f"VMs without an address at boot: {', '.join(missing)}")
    say(f"{len(story.first)} VMs booted, each with a lease from {words['server']}:")
    for vm in story.first[:3]:
        say(f"  {vm.name}  {vm.mac}  -> {vm.ip}")
    say(f"  ... {len(story.first) - 3} more")

    say(Rule(f"[bold]Tuesday[/]: the tests finish; {DESTROY} VMs are destroyed"))
    story.destroyed = story.first[:DESTROY]
    story.kept = story.first[DESTROY:]
    for vm in story.destroyed:
        lab.destroy(vm)
    say(
        f"{DESTROY} VMs are gone, [bold]without releasing[/] their leases (nobody ran "
        f"`dhclient -r`). {len(story.kept)} VMs still run. {words['server']} keeps every address "
        "reserved for three days, in case a VM comes back. None will: the next clone has a new MAC."
    )

    say(Rule("[bold]Wednesday[/]: a new VM boots"))
    stranded = lab.boot(1, timeout=6)[0]
    story.stranded = stranded
    if stranded.ip is not None:
        raise StoryError(f"{stranded.name} got {stranded.ip}: the pool was not dry")
    refusals = lab.log_path.read_text(errors="replace").count(words["refusal"])
    say(
        f"[bold red]{stranded.name} gets no address[/]: {words['server']} refused its "
        f"DHCPDISCOVER {refusals}x ('{words['refusal']}'). The tests fail. The VM gives up "
        "and is destroyed."
    )
    lab.destroy(stranded)

    state = lab.workdir / "leasewatch-state.db"
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(state), encoding="utf-8")
    say(Rule("[bold]Enter leasewatch[/]"))
    say(f"[dim]{config}:[/]")
    say(config.read_text(encoding="utf-8"), markup=False, highlight=False)

    story.exit_codes["report"] = leasewatch(
        console, config, "report", title="the pool is full, and most of it is orphaned"
    )
    story.exit_codes["scan"] = leasewatch(
        console, config, "scan", title="a dry run: what would be released, and why"
    )
    story.exit_codes["scan --apply"] = leasewatch(
        console,
        config,
        "scan",
        "--apply",
        title=f"give the orphans' addresses back to {words['server']}",
    )
    story.exit_codes["audit"] = leasewatch(
        console, config, "audit", title="every release is on record"
    )

    say(Rule(f"[bold]Thursday[/]: {NEW} new VMs boot"))
    story.newcomers = lab.boot(NEW, timeout=15)
    for vm in story.newcomers:
        say(f"  {vm.name}  {vm.mac}  -> [bold green]{vm.ip}[/]")
    if any(vm.ip is None for vm in story.newcomers):
        raise StoryError("a new VM got no address after the release")
    freed = {vm.ip for vm in story.destroyed}
    if not {vm.ip for vm in story.newcomers} <= freed:
        raise StoryError("the new VMs did not get the released addresses")
    story.exit_codes["report again"] = leasewatch(
        console, config, "report", title="room again, and no orphans left"
    )
    kept_ok = story.kept_unchanged = all(vm.ip == vm.read_ip() for vm in story.kept)
    say(
        Panel.fit(
            f"{DESTROY} orphaned leases released {words['how']}, {NEW} new VMs booted with "
            f"addresses, the {len(story.kept)} live VMs kept theirs"
            f"{'' if kept_ok else ' [red](NOT!)[/]'}.",
            title="[bold green]The end[/]",
        )
    )
    if not kept_ok:
        raise StoryError("a live VM's lease changed")


@dataclass
class PoolStory:
    """The MAC pool act: the same churn with random MACs, then with MACs from the pool."""

    random: Churn = field(default_factory=Churn)
    pooled: Churn = field(default_factory=Churn)


def tell_pool(console: Console) -> PoolStory:
    """The other way out: VMs that reuse MACs from leasewatch's pool reuse their leases."""
    say = console.print
    act = PoolStory()
    say(Rule(f"[bold]Friday[/]: {CLONES} clones, one after another, nobody releases a lease"))
    with IscLab.start(pool_size=POOL) as lab:
        with console.status("cloning VMs with random MACs..."):
            act.random = churn(lab, CLONES, None, timeout=6)
        say(
            f"Random MACs: {act.random.served} clones got an address, then "
            f"[bold red]clone {len(act.random.ips):03d} got none[/]: {POOL} addresses, "
            f"{act.random.served} leases held for three days by MACs that never come back."
        )
    with IscLab.start(pool_size=POOL) as lab:
        config = pool_config(lab)
        say("Now each clone boots with [bold]--network ...,mac=$(leasewatch mac take)[/] and")
        say("its teardown hook runs [bold]leasewatch mac give MAC[/]:")
        with console.status(f"cloning {CLONES} VMs with MACs from the pool..."):
            act.pooled = churn(lab, CLONES, config)
        used = {ip for ip in act.pooled.ips if ip is not None}
        say(
            f"MAC pool: [bold green]{act.pooled.served} of {CLONES} clones got an address[/], "
            f"from {len(used)} lease(s): each clone after the first took the MAC its "
            "predecessor gave back, whose lease dhcpd still held "
            f"({', '.join(sorted(set(act.pooled.macs)))} -> {', '.join(map(str, sorted(used)))})."
        )
    if act.random.served != POOL or act.pooled.served != CLONES:
        raise StoryError("the MAC pool act did not end as it must")
    return act


def start_lab(kind: str) -> Lab:
    """The lab of one kind, with the seed's 21-address pool."""
    if kind == "isc":
        return IscLab.start(pool_size=POOL)
    if kind == "kea":
        return KeaLab.start(pool_size=POOL)
    return DnsmasqLab.start(pool_size=POOL, flavour=DNSMASQ_FLAVOURS[kind])


def run(kind: str, console: Console, *, pool_act: bool = True) -> Story:
    """Build the lab, tell the story (and, for dhcpd, the MAC pool act), always tear down."""
    story = Story()
    started = time.monotonic()
    with console.status(f"starting {WORDS[kind]['server']} in its namespace..."):
        lab = start_lab(kind)
    try:
        tell(console, lab, story, kind)
    finally:
        lab.close()
        console.print(
            f"[dim]Lab torn down (namespaces, {WORDS[kind]['server']}, dhclients, files); "
            f"{time.monotonic() - started:.0f}s.[/]"
        )
    if pool_act and kind == "isc":
        tell_pool(console)
    return story


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.demo", description=__doc__)
    parser.add_argument("--kind", choices=tuple(WORDS), default="isc")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("lab.demo: needs root (network namespaces)", file=sys.stderr)
        return 1
    install_exit_handlers()
    console = Console(highlight=False)
    try:
        run(args.kind, console)
    except StoryError as exc:
        console.print(f"[bold red]The story went wrong:[/] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
