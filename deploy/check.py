"""``make check-deploy``: validate the files in deploy/ with the tools that read them.

- leasewatch.toml: leasewatch's own config loader, as shipped (report-only, no credential)
  and with every optional setting uncommented (credential files faked in a temp dir);
  every credential it names is one the unit loads.
- leasewatch.service: the hardening the project promises, then ``systemd-analyze verify``
  (with ExecStart pointed at this checkout's leasewatch); any warning fails.
- prometheus-rules.yml: structure and metric names, then ``promtool check rules`` and
  ``promtool test rules prometheus-rules.test.yml`` (each alert before and after its
  ``for``, with its exact labels and annotations). promtool comes from $PROMTOOL, the
  PATH, or Debian's ``prometheus`` package unpacked (never installed: that package is a
  96 MB server with a service) into .venv/opt/prometheus (``make promtool``).
- grafana-dashboard.json: dashboard structure, variables, and metric names.
- leasewatch.cron: five valid crontab fields, a user, and a ``scan --textfile`` command.
- multisite/: both Prometheus configs pass ``promtool check config`` (their rule files
  too), the site rules pass ``promtool test rules``, the Alertmanager config passes ``amtool
  check-config`` and its routing cases ``amtool config routes test``, and every federated
  site reaches a receiver of its own. amtool comes from $AMTOOL, the PATH, or Debian's
  ``prometheus-alertmanager`` package unpacked (never installed) into .venv/opt.

Every metric a rule or panel names must be one leasewatch exports.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from leasewatch import config as config_module
from leasewatch.config import Config
from leasewatch.errors import ConfigError
from leasewatch.metrics import ScanMetrics

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CREDENTIALS = "/run/credentials/leasewatch.service/"
STORK_PORT = "9547"  # Stork's agent and kea-exporter: never ours

REQUIRED_UNIT = {
    "ProtectSystem": "strict",
    "StateDirectory": "leasewatch",
    "NoNewPrivileges": "yes",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "CapabilityBoundingSet": "",
    "SystemCallFilter": "@system-service",
    "ExecReload": "/bin/kill -HUP $MAINPID",
}
PANEL_TYPES = {"timeseries", "stat", "table", "gauge", "bargauge", "text", "row", "state-timeline"}


class CheckError(Exception):
    """One or more problems in one deploy file."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def exported_metrics() -> set[str]:
    """Every sample name leasewatch's collector can produce."""
    names = set()
    for family in ScanMetrics(Config(path=Path("check"))).describe():
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bleasewatch_[a-z_]+\b", expr))


# --- leasewatch.toml --------------------------------------------------------------------------
def unit_credentials(unit: Path = HERE / "leasewatch.service") -> set[str]:
    return {
        value.split(":", 1)[0]
        for key, value in parse_unit(unit.read_text())
        if key == "LoadCredential"
    }


def uncommented(text: str) -> str:
    """The example with every optional setting switched on (``#key =`` and ``#[table]``)."""
    return re.sub(r"^#(?=\[|\w+ *=)", "", text, flags=re.MULTILINE)


def _load_with_fake_credentials(text: str, name: str) -> tuple[Config | None, list[str]]:
    """Load ``text`` with leasewatch's loader, each credential it names faked in a temp dir."""
    live = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    named = set(re.findall(re.escape(CREDENTIALS) + r"([\w.-]+)", live))
    problems = [
        f"{name}: credential {cred!r} is not in the unit's LoadCredential="
        for cred in sorted(named - unit_credentials())
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for cred in named:
            # a URL for the webhook, base64 for the OMAPI key; any text does for the others
            fake = "https://hooks.example/check" if "url" in cred else "c2VjcmV0LWtleQ=="
            (Path(tmp) / cred).write_text(fake + "\n")
        copy = Path(tmp) / "leasewatch.toml"
        copy.write_text(text.replace(CREDENTIALS, tmp + "/"))
        try:
            return config_module.load(copy, environ={}), problems
        except ConfigError as exc:
            problems.extend(m.replace(str(copy), name) for m in exc.messages)
            return None, problems


def check_config(path: Path = HERE / "leasewatch.toml") -> list[str]:
    """The example loads as shipped (report-only: no credential needed) and with every
    optional setting uncommented (credentials faked, each one the unit passes)."""
    text = path.read_text()
    shipped, problems = _load_with_fake_credentials(text, path.name)
    if shipped is not None and re.search(re.escape(CREDENTIALS), _live(text)):
        problems.append(f"{path.name}: as shipped it must need no credential (report-only)")
    full, more = _load_with_fake_credentials(uncommented(text), path.name + " (uncommented)")
    problems += more
    if problems or shipped is None or full is None:
        raise CheckError(problems)
    if full.daemon.metrics is None or full.daemon.metrics.endswith(":" + STORK_PORT):
        problems.append(f"{path.name}: [daemon] metrics should show 127.0.0.1:9967 (not 9547)")
    if shipped.reaper.apply or any(s.omapi for s in shipped.servers):
        problems.append(f"{path.name}: as shipped it must release nothing")
    if problems:
        raise CheckError(problems)
    sections = sorted({"servers", "inventory", "reaper", "alerts", "daemon", "state"})
    every = uncommented(text)
    missing = [s for s in sections if not re.search(rf"^\[+{s}[\].]", every, re.MULTILINE)]
    if missing:
        raise CheckError([f"{path.name}: no [{s}] section" for s in missing])
    return [
        f"loads with leasewatch's config loader as shipped ({len(shipped.servers)} server,"
        f" report-only) and uncommented ({len(full.servers)} servers,"
        f" {len(full.inventory)} inventories)"
    ]


def _live(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


# --- leasewatch.service ---------------------------------------------------------------------
def parse_unit(text: str) -> list[tuple[str, str]]:
    """``Key=Value`` pairs in order (keys may repeat, as systemd allows)."""
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")) or re.fullmatch(r"\[\w+\]", line):
            continue
        if "=" not in line:
            raise CheckError([f"leasewatch.service:{number}: expected Key=Value, got {line!r}"])
        key, value = line.split("=", 1)
        out.append((key.strip(), value.strip()))
    return out


def check_unit(path: Path = HERE / "leasewatch.service") -> list[str]:
    """The promised hardening is there, and systemd-analyze verify has nothing to say."""
    pairs = parse_unit(path.read_text())
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    problems = [
        f"{path.name}: expected {key}={want}"
        for key, want in REQUIRED_UNIT.items()
        if want not in values.get(key, [])
    ]
    if "yes" not in values.get("DynamicUser", []) and not values.get("User"):
        problems.append(f"{path.name}: expected DynamicUser=yes or User=")
    if not any(v.lstrip("-").startswith("/var/lib/dhcp") for v in values.get("ReadOnlyPaths", [])):
        problems.append(f"{path.name}: expected ReadOnlyPaths= for the leases file's directory")
    if problems:
        raise CheckError(problems)
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return ["hardening keys present; systemd-analyze not installed: syntax checked here only"]
    leasewatch = Path(sys.executable).parent / "leasewatch"
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        copy.write_text(path.read_text().replace("/usr/local/bin/leasewatch", str(leasewatch)))
        done = subprocess.run(
            [analyze, "verify", str(copy)], check=False, capture_output=True, text=True, timeout=60
        )
    # verify exits 0 on unknown keys and bad values; only its silence means clean
    output = (done.stdout + done.stderr).replace(str(copy), path.name).strip()
    if done.returncode != 0 or output:
        raise CheckError([f"systemd-analyze verify: {line}" for line in output.splitlines()])
    return ["hardening keys present; systemd-analyze verify: clean"]


# --- prometheus-rules.yml -------------------------------------------------------------------
def find_promtool(fetch: bool = False) -> str | None:
    """$PROMTOOL, the PATH, the unpacked cache; with ``fetch``, unpack Debian's package."""
    return _find_tool("promtool", "prometheus", "PROMTOOL", fetch)


def _find_tool(tool: str, package: str, variable: str, fetch: bool) -> str | None:
    """``$VARIABLE``, the PATH, or ``.venv/opt/PACKAGE``; with ``fetch``, Debian's package
    downloaded and unpacked there (``dpkg-deb -x``: never installed, no service)."""
    cache = ROOT / ".venv" / "opt" / package
    for candidate in (
        os.environ.get(variable),
        shutil.which(tool),
        str(cache / "usr" / "bin" / tool),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if fetch and shutil.which("apt-get") and shutil.which("dpkg-deb"):
        with tempfile.TemporaryDirectory() as tmp:
            got = subprocess.run(
                ["apt-get", "download", package],
                check=False,
                cwd=tmp,
                capture_output=True,
                timeout=300,
            )
            debs = list(Path(tmp).glob(f"{package}_*.deb"))
            if got.returncode == 0 and debs:
                cache.mkdir(parents=True, exist_ok=True)
                subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(cache)], check=True)
                return _find_tool(tool, package, variable, fetch=False)
    return None


def check_rules(
    path: Path = HERE / "prometheus-rules.yml",
    promtool: str | None = None,
    tests: Path = HERE / "prometheus-rules.test.yml",
) -> list[str]:
    """Rule structure and metric names; then promtool's check and unit tests, if there is one."""
    doc = yaml.safe_load(path.read_text())
    problems: list[str] = []
    exported = exported_metrics()
    alerts: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise CheckError([f"{path.name}: expected a mapping with a 'groups' list"])
    for group in doc["groups"]:
        if (
            not isinstance(group, dict)
            or not group.get("name")
            or not isinstance(group.get("rules"), list)
        ):
            problems.append(f"{path.name}: each group needs a name and a rules list")
            continue
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            where = f"{path.name}: {name or 'a rule'}"
            if not name or not isinstance(rule.get("expr"), str):
                problems.append(f"{where}: needs alert (or record) and expr")
                continue
            unknown = _metric_names(rule["expr"]) - exported
            if unknown:
                problems.append(f"{where}: unknown metric(s) {', '.join(sorted(unknown))}")
            if "alert" in rule:
                alerts.append(name)
                if not rule.get("labels", {}).get("severity"):
                    problems.append(f"{where}: needs labels.severity")
                if not rule.get("annotations", {}).get("summary"):
                    problems.append(f"{where}: needs annotations.summary")
                if "for" in rule and not re.fullmatch(r"(\d+[smhdwy])+", str(rule["for"])):
                    problems.append(f"{where}: 'for' must be a duration like 10m")
    wanted = {
        "pool above critical": "leasewatch_network_utilization",
        "no successful scan": "leasewatch_last_successful_scan_timestamp_seconds",
        "source down": "leasewatch_source_up",
        "stopped scanning": "leasewatch_last_scan_timestamp_seconds",
        "orphans rising": "leasewatch_orphans",
    }
    exprs = " ".join(r.get("expr", "") for g in doc["groups"] for r in g.get("rules", []))
    problems.extend(
        f"{path.name}: no rule for {what} ({metric})"
        for what, metric in wanted.items()
        if metric not in exprs
    )
    if problems:
        raise CheckError(problems)
    notes = [f"{len(alerts)} alerts, metric names all exported"]
    if promtool is None:
        notes.append("promtool not available: structure checked here only")
        return notes
    for argv in (["check", "rules", str(path)], ["test", "rules", tests.name]):
        # test files name their rule files relative to themselves
        done = subprocess.run(
            [promtool, *argv],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tests.parent,
        )
        out = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            raise CheckError([f"promtool {argv[0]}: {line}" for line in out.splitlines()])
        notes.append(f"promtool {' '.join(argv[:2])}: {out.splitlines()[-1].strip()}")
    return notes


# --- grafana-dashboard.json -----------------------------------------------------------------
def check_dashboard(path: Path = HERE / "grafana-dashboard.json") -> list[str]:
    """A Grafana dashboard model: panels placed on the 24-column grid, queries on our metrics."""
    doc: Any = json.loads(path.read_text())
    problems: list[str] = []
    for key, kind in (("title", str), ("uid", str), ("schemaVersion", int), ("panels", list)):
        if not isinstance(doc.get(key), kind):
            problems.append(f"{path.name}: expected {key} ({kind.__name__})")
    if problems:
        raise CheckError(problems)
    variables = {v.get("name") for v in doc.get("templating", {}).get("list", [])}
    exported = exported_metrics()
    ids: set[int] = set()
    exprs: list[str] = []
    for panel in doc["panels"]:
        title = panel.get("title", "?")
        where = f"{path.name}: panel {title!r}"
        if not isinstance(panel.get("id"), int) or panel["id"] in ids:
            problems.append(f"{where}: needs a unique integer id")
        ids.add(panel.get("id", -1))
        if panel.get("type") not in PANEL_TYPES:
            problems.append(f"{where}: unknown type {panel.get('type')!r}")
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in "hwxy") or grid["x"] + grid["w"] > 24:
            problems.append(f"{where}: gridPos needs integer h, w, x, y within 24 columns")
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            if not target.get("refId") or not expr:
                problems.append(f"{where}: each target needs refId and expr")
            exprs.append(expr)
            unknown = _metric_names(expr) - exported
            if unknown:
                problems.append(f"{where}: unknown metric(s) {', '.join(sorted(unknown))}")
        used = set(re.findall(r"\$\{?(\w+)", json.dumps(panel))) - {"__rate_interval"}
        if used - variables:
            problems.append(f"{where}: undefined variable(s) {', '.join(sorted(used - variables))}")
    joined = " ".join(exprs)
    for metric in (
        "leasewatch_network_utilization",
        "leasewatch_orphans",
        "leasewatch_releases_total",
    ):
        if metric not in joined:
            problems.append(f"{path.name}: no panel shows {metric}")
    if problems:
        raise CheckError(problems)
    return [f"{len(doc['panels'])} panels, metric names all exported"]


# --- leasewatch.cron --------------------------------------------------------------------------
def check_cron(path: Path = HERE / "leasewatch.cron") -> list[str]:
    """/etc/cron.d syntax: five fields, a user, and the scan command writing a textfile."""
    from apscheduler.triggers.cron import CronTrigger

    problems: list[str] = []
    jobs = 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split(None, 6)
        if len(fields) < 7:
            problems.append(f"{path.name}:{number}: expected 5 time fields, a user, a command")
            continue
        try:
            CronTrigger.from_crontab(" ".join(fields[:5]))
        except ValueError as exc:
            problems.append(f"{path.name}:{number}: bad schedule: {exc}")
        if "scan" not in fields[6] or "--textfile" not in fields[6]:
            problems.append(f"{path.name}:{number}: expected a `leasewatch scan --textfile` job")
        jobs += 1
    if not jobs:
        problems.append(f"{path.name}: no job line")
    if problems:
        raise CheckError(problems)
    return [f"{jobs} job line(s)"]


# --- multisite/ -------------------------------------------------------------------------------
def find_amtool(fetch: bool = False) -> str | None:
    """amtool as promtool is found: $AMTOOL, the PATH, or Debian's prometheus-alertmanager
    unpacked (never installed: that package is the Alertmanager service) into the venv."""
    return _find_tool("amtool", "prometheus-alertmanager", "AMTOOL", fetch)


def _run(tool: str, argv: list[str], cwd: Path) -> tuple[int, str]:
    done = subprocess.run(
        [tool, *argv], check=False, capture_output=True, text=True, timeout=60, cwd=cwd
    )
    # amtool warns that --config.file overrides --alertmanager.url on every call: noise
    lines = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "overrides the --alertmanager.url" not in line
    ]
    return done.returncode, "\n".join(lines)


def federated_sites(central: Path) -> list[str]:
    """The sites the central Prometheus federates: its targets' ``site`` labels."""
    doc = yaml.safe_load(central.read_text())
    return [
        target["labels"]["site"]
        for job in doc.get("scrape_configs", [])
        if job.get("metrics_path") == "/federate"
        for target in job.get("static_configs", [])
        if "site" in target.get("labels", {})
    ]


def check_multisite(
    directory: Path = HERE / "multisite", promtool: str | None = None, amtool: str | None = None
) -> list[str]:
    """The multi-site example: both Prometheus configs and their rules pass promtool (the
    rules' unit tests too), the Alertmanager config passes amtool, each routing case reaches
    its receivers, and each federated site reaches a receiver of its own."""
    rules = directory / "sites-rules.yml"
    doc = yaml.safe_load(rules.read_text())
    exported = exported_metrics()
    problems = [
        f"{rules.name}: {rule.get('alert') or rule.get('record')}: unknown metric(s) "
        + ", ".join(sorted(unknown))
        for group in doc["groups"]
        for rule in group["rules"]
        # recorded names (site:leasewatch_orphans:sum) are not leasewatch's own
        if (unknown := _metric_names(re.sub(r"\w*:[\w:]+", "", rule["expr"])) - exported)
    ]
    sites = federated_sites(directory / "central-prometheus.yml")
    if not sites:
        problems.append("central-prometheus.yml: no federated target with a site label")
    if problems:
        raise CheckError(problems)
    notes = [f"{len(sites)} sites federated, metric names all exported"]
    if promtool is None:
        notes.append("promtool not available: Prometheus configs and rules not checked")
    else:
        for argv in (
            ["check", "config", "site-prometheus.yml", "central-prometheus.yml"],
            ["test", "rules", "sites-rules.test.yml"],
        ):
            code, out = _run(promtool, argv, directory)
            if code != 0:
                raise CheckError(
                    [f"promtool {argv[0]} {argv[1]}: {line}" for line in out.splitlines()]
                )
            notes.append(f"promtool {' '.join(argv[:2])}: SUCCESS")
    if amtool is None:
        notes.append("amtool not available: Alertmanager routing not checked")
        return notes
    code, out = _run(amtool, ["check-config", "alertmanager.yml"], directory)
    if code != 0:
        raise CheckError([f"amtool check-config: {line}" for line in out.splitlines()])
    cases = yaml.safe_load((directory / "alertmanager.test.yml").read_text())
    for case in cases:
        labels = [f"{k}={v}" for k, v in sorted(case["labels"].items())]
        want = ",".join(case["receivers"])
        code, got = _route(amtool, directory, [f"--verify.receivers={want}", *labels])
        if code != 0:
            problems.append(f"alertmanager.yml: {' '.join(labels)} reaches {got}, expected {want}")
    default = _default_receiver(directory)
    seen: set[str] = set()
    for site in sites:
        code, got = _route(amtool, directory, [f"site={site}", "alertname=LeasewatchPoolCritical"])
        if code != 0 or got in (default, *seen):
            problems.append(f"alertmanager.yml: site {site} has no receiver of its own ({got})")
        seen.add(got)
    if problems:
        raise CheckError(problems)
    notes.append(
        f"amtool check-config: SUCCESS; {len(cases)} routing cases"
        f" and {len(sites)} sites reach their receivers"
    )
    return notes


def _route(amtool: str, directory: Path, args: list[str]) -> tuple[int, str]:
    """``amtool config routes test``: its status and the receivers it names (first line)."""
    code, out = _run(
        amtool, ["config", "routes", "test", "--config.file=alertmanager.yml", *args], directory
    )
    return code, (out.splitlines() or ["nothing"])[0]


def _default_receiver(directory: Path) -> str:
    return str(yaml.safe_load((directory / "alertmanager.yml").read_text())["route"]["receiver"])


def checks(
    promtool: str | None, amtool: str | None = None
) -> Iterable[tuple[str, Callable[[], list[str]]]]:
    yield "leasewatch.toml", check_config
    yield "leasewatch.service", check_unit
    yield "prometheus-rules.yml", lambda: check_rules(promtool=promtool)
    yield "grafana-dashboard.json", check_dashboard
    yield "leasewatch.cron", check_cron
    yield "multisite/", lambda: check_multisite(promtool=promtool, amtool=amtool)


def main() -> int:
    failed = 0
    for name, check in checks(find_promtool(fetch=True), find_amtool(fetch=True)):
        try:
            notes = check()
        except CheckError as exc:
            failed += 1
            for problem in exc.problems:
                print(f"FAIL {name}: {problem}")
            continue
        print(f"ok   {name}: " + "; ".join(notes))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
