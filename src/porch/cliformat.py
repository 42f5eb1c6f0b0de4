"""The command line's manners (issue 19): one-line errors with a suggestion, a clean --help.

``PorchParser`` is an ``argparse.ArgumentParser`` that never abbreviates options (``--upload``
is not silently ``--upload-dir``), and reports a mistake in one line plus, for an unknown
option, the closest real one (``difflib``), instead of the whole usage first: the usage is
what ``--help`` is for. ``HelpFormatter`` shows a default only when there is one worth reading
(no "(default: False)", "(default: [])" or "(default: None)") and lists an option's spellings
once with one metavar (``-p, --port PORT``).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import NoReturn


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Defaults only where they say something; ``-b, --bind, --host ADDRESS`` style."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or "default:" in text
            or default in (None, False, True, [], argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        metavar = self._format_args(action, self._get_default_metavar_for_optional(action))
        return ", ".join(action.option_strings) + " " + metavar


class PorchParser(argparse.ArgumentParser):
    """``argparse`` with ``allow_abbrev=False`` and short, helpful errors (exit status 2)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        lines = [f"{self.prog}: error: {message}"]
        hint = self.suggestion(message)
        if hint:
            lines.append(hint)
        lines.append(f"({self.prog} --help lists every option)")
        sys.stderr.write("\n".join(lines) + "\n")
        raise SystemExit(2)

    def option_strings(self) -> list[str]:
        return [o for action in self._actions for o in action.option_strings]

    def suggestion(self, message: str) -> str:
        """ "did you mean --port?" for the unknown options named in ``message``."""
        if not message.startswith("unrecognized arguments:"):
            return ""
        known = self.option_strings()
        hints = []
        for word in message.removeprefix("unrecognized arguments:").split():
            if not word.startswith("-"):
                continue
            name = word.split("=", 1)[0]
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            prefixed = [o for o in known if o.startswith(name) and name.startswith("--")]
            match = close[0] if close else (prefixed[0] if len(prefixed) == 1 else None)
            if match:
                hints.append(f"{name}: did you mean {match}?")
        return "\n".join(hints)
