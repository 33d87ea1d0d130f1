"""Reading TOML tables with every problem collected and named by file, line and key.

Hand-written on purpose, after measuring the two libraries that could replace it, on a
config with three mistakes (a number for a path, an unknown key, a word for a count):
- pydantic 2.14 reports all three, as key paths (``('servers', 0, 'leases')``), never a
  line: tomllib keeps no positions, so ``line_of`` below would stay, plus an adapter from
  its messages to ours and custom validators for the ``x_file``/``x_env`` secrets and the
  cross-key rules (``every`` or ``cron``; one Kea transport). It adds 9.6 MB installed
  (pydantic-core is compiled; Debian bookworm ships pydantic 1) and 21 ms of import.
- msgspec 0.23 stops at the first mistake: one of three, which fails "all errors at once".
The reader below is ~260 lines with no dependency; importing the whole config package takes
34 ms, most of it leasewatch.model.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from leasewatch.config.schema import MAX_DURATION, Secret
from leasewatch.errors import ConfigError
from leasewatch.model import format_duration, parse_duration

T = TypeVar("T")

DURATION_HINT = "a duration like '30s', '15m', '6h' or '3d'"


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and its TOML data; ``ConfigError`` (one line) when that fails."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use -c PATH)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = raw[exc.start]
        raise ConfigError(
            f"{path}:{line}: byte 0x{byte:02x} at column {column} is not UTF-8;"
            " a TOML file must be UTF-8 text"
        ) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def is_http_url(value: str) -> bool:
    """An ``http://`` or ``https://`` URL with a host and, if given, a port in range."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a port out of range or not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class Loader:
    """The errors of one file, each as ``FILE:LINE: KEY: message``."""

    def __init__(self, path: Path, text: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.environ = environ
        self.errors: list[str] = []

    def error(self, where: str, key: str, message: str) -> None:
        name = f"{where}.{key}" if where else key
        line = self.line_of(where, key)
        at = f"{self.path}:{line}" if line else str(self.path)
        self.errors.append(f"{at}: {name}: {message}")

    def line_of(self, where: str, key: str) -> int | None:
        """Best effort: the line of ``key =`` inside the table named by ``where``.

        tomllib keeps no positions, so find the n-th header of the table (``servers[1]`` is
        the second ``[[servers]]``) and the first assignment of ``key`` after it.
        """
        header_line = 0
        if where:
            m = re.fullmatch(r"([\w.]+?)(?:\[(\d+)\])?(?:\.(\w+))?", where)
            if m:
                table, index, sub = m.group(1), int(m.group(2) or 0), m.group(3)
                found = -1
                for number, line in enumerate(self.lines, 1):
                    stripped = line.strip().replace(" ", "")
                    if stripped in (f"[[{table}]]", f"[{table}]"):
                        found += 1
                        if found == index:
                            header_line = number
                            break
                if sub and header_line:
                    key_pattern = re.compile(rf"^\s*{re.escape(key)}\s*=|\b{re.escape(key)}\s*=")
                    for number in range(header_line, len(self.lines) + 1):
                        text = self.lines[number - 1]
                        if re.match(rf"^\s*{re.escape(sub)}\s*[=.]", text) and key_pattern.search(
                            text
                        ):
                            return number
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(header_line + 1 if header_line else 1, len(self.lines) + 1):
            text = self.lines[number - 1]
            if number > header_line + 1 and header_line and text.strip().startswith("["):
                break
            if pattern.match(text):
                return number
        return header_line or None

    def section(self, table: Any, where: str) -> Section | None:
        if not isinstance(table, dict):
            self.error("", where, f"expected a table, got {table!r}")
            return None
        return Section(self, table, where)


class Section:
    """Typed reads from one TOML table, collecting errors instead of raising."""

    def __init__(self, loader: Loader, table: Mapping[str, Any], where: str) -> None:
        self.loader = loader
        self.table = table
        self.where = where
        self.used: set[str] = set()

    def error(self, key: str, message: str) -> None:
        self.loader.error(self.where, key, message)

    def has(self, key: str) -> bool:
        return key in self.table

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        # bool is an int in Python; a TOML `true` is never a number here
        if isinstance(value, bool) and kind is not bool:
            self.error(key, f"expected {what}, got {value!r}")
            return default
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind):
            self.error(key, f"expected {what}, got {value!r}")
            return default
        return value

    def required(self, key: str, kind: type[T], what: str) -> T | None:
        if key not in self.table:
            self.used.add(key)
            self.error(key, f"missing; expected {what}")
            return None
        value: T | None = self.get(key, kind, None, what)
        return value

    def string(self, key: str, default: str | None = None) -> str | None:
        value: str | None = self.get(key, str, default, "a string")
        return value

    def path(self, key: str) -> Path | None:
        value = self.string(key)
        return Path(value) if value is not None else None

    def port(self, key: str, default: int) -> int:
        value: int = self.get(key, int, default, "a port number")
        if not 0 < value < 65536:
            self.error(key, f"expected a port number from 1 to 65535, got {value}")
            return default
        return value

    def duration(self, key: str, default: timedelta | None) -> timedelta | None:
        value = self.get(key, str, None, DURATION_HINT)
        if value is None:
            return default
        try:
            parsed = parse_duration(value)
        except ValueError as exc:
            self.error(key, str(exc))
            return default
        except OverflowError:  # timedelta's own limit (999999999 days), far past ours
            parsed = None
        if parsed is None or parsed > MAX_DURATION:
            self.error(key, f"expected at most {format_duration(MAX_DURATION)}, got {value!r}")
            return default
        return parsed

    def positive_duration(self, key: str, default: timedelta) -> timedelta:
        """A duration that must be more than zero (zero is an error, never the default)."""
        value = self.duration(key, default)
        if value is None:
            return default
        if value <= timedelta(0):
            self.error(key, f"expected a duration above zero, like '{format_duration(default)}'")
            return default
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value: Any = self.get(key, (list, str), [], "a string or a list of strings")
        if isinstance(value, str):
            return (value,)
        if not all(isinstance(v, str) for v in value):
            self.error(key, f"expected a list of strings, got {value!r}")
            return ()
        return tuple(value)

    def http_url(self, key: str) -> str | None:
        """An ``http(s)://`` URL (not a secret: shown in errors)."""
        value = self.string(key)
        if value is not None and not is_http_url(value):
            self.error(key, f"expected an http:// or https:// URL, got {value!r}")
            return None
        return value

    def secret(self, key: str, *, required: bool) -> Secret | None:
        """Read ``key``, ``key_file`` or ``key_env``: exactly one of them."""
        given = [k for k in (key, f"{key}_file", f"{key}_env") if k in self.table]
        self.used.update({key, f"{key}_file", f"{key}_env"})
        if len(given) > 1:
            self.error(key, f"give only one of {', '.join(given)}")
            return None
        if not given:
            if required:
                self.error(key, f"missing; expected {key}, {key}_file or {key}_env")
            return None
        chosen = given[0]
        value = self.table[chosen]
        if not isinstance(value, str):
            self.error(chosen, "expected a string")
            return None
        if chosen.endswith("_file"):
            try:
                # a secret file usually ends with a newline that is not part of the secret
                return Secret(Path(value).read_text(encoding="utf-8").rstrip("\r\n"))
            except OSError as exc:
                self.error(chosen, f"cannot read secret file {value}: {exc.strerror}")
                return None
            except UnicodeDecodeError:
                self.error(chosen, f"secret file {value} is not UTF-8 text")
                return None
        if chosen.endswith("_env"):
            env_value = self.loader.environ.get(value)
            if env_value is None:
                self.error(chosen, f"environment variable {value} is not set")
                return None
            return Secret(env_value)
        return Secret(value)

    def finish(self, allowed_extra: set[str] | None = None) -> None:
        for key in self.table:
            if key not in self.used and not (allowed_extra and key in allowed_extra):
                self.error(key, "unknown key")
