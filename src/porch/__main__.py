"""``python -m porch``: the same as the ``porch`` command."""

from __future__ import annotations

from porch.cli import main

raise SystemExit(main())
