"""``porch --config FILE``: settings from a TOML file, under the command line.

Theory of operation. The file's keys are the command line's long options, spelled with ``-`` or
``_`` (``max-upload-size`` or ``max_upload_size``), plus ``root``. They become argparse
*defaults*, so any flag given on the command line overrides the file, and every option that
exists — including ones added later — is settable without touching this module. Each value is
checked against its option: a switch needs a boolean, a repeatable option a list, anything
else a string or number, which goes through the option's own ``type`` conversion so the file
and the flag accept exactly the same values. An unknown key stops porch at start, naming it.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any


class ConfigFileError(Exception):
    """The config file cannot be used; the message names the file and the key."""


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    options: dict[str, argparse.Action] = {}
    for action in parser._actions:
        if action.dest in ("help", "version", "config") or action.dest is argparse.SUPPRESS:
            continue
        options[action.dest] = action
    return options


def _convert(action: argparse.Action, key: str, value: Any, source: str) -> Any:
    def one(item: Any) -> Any:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ConfigFileError(f"{source}: {key} must be a string or a number")
        text = str(item)
        converter = action.type if callable(action.type) else str
        try:
            converted = converter(text)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
            raise ConfigFileError(f"{source}: {key}: {error}") from None
        if action.choices is not None and converted not in action.choices:
            choices = ", ".join(map(str, action.choices))
            raise ConfigFileError(f"{source}: {key} must be one of {choices}")
        return converted

    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if not isinstance(value, bool):
            raise ConfigFileError(f"{source}: {key} must be true or false")
        return value if isinstance(action, argparse._StoreTrueAction) else not value
    if isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+"):
        if not isinstance(value, list):
            raise ConfigFileError(f"{source}: {key} must be a list")
        return [one(item) for item in value]
    return one(value)


def load_defaults(path: Path, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Read ``path`` and return argparse defaults for ``parser``.

    Raises ``ConfigFileError`` for an unreadable file, invalid TOML, an unknown key, or a value
    of the wrong kind; relative paths in the file (``root``, ``upload-dir`` ...) are taken
    relative to the file's own directory, as a user writing the file expects.
    """
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigFileError(f"cannot read config file {source}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(f"{source} is not valid TOML: {error}") from None
    options = _options(parser)
    defaults: dict[str, Any] = {}
    for key, value in data.items():
        dest = key.replace("-", "_")
        action = options.get(dest)
        if action is None:
            raise ConfigFileError(f"{source}: unknown key {key!r}")
        converted = _convert(action, key, value, source)
        if dest in _PATH_OPTIONS and isinstance(converted, str):
            converted = str((path.parent / Path(converted).expanduser()).resolve())
        if dest == "routes" and isinstance(converted, list):
            converted = [route_spec(path.parent, spec) for spec in converted]
        defaults[dest] = converted
    return defaults


def route_spec(directory: Path, spec: str) -> str:
    """A ``routes`` entry of a config file in ``directory``, as the command line takes it:
    a file path relative to the file's directory (issue 19: not the current one), and a
    plain module name found in that directory first (``myroutes`` is ``DIR/myroutes.py``
    when that file exists); anything else stays a name, looked up on ``sys.path``."""
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        return str((directory / Path(spec).expanduser()).resolve())
    candidate = directory / (spec + ".py")
    if spec.isidentifier() and candidate.is_file():
        return str(candidate.resolve())
    return spec


_PATH_OPTIONS = frozenset(
    {"root", "upload_dir", "state_dir", "tls_cert", "tls_key", "auth_file", "routes_dir"}
)
