"""``Headers``: an ordered, case-insensitive multi-map of header fields."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Headers:
    """Header fields in the order received; a name may repeat.

    Lookups ignore case; ``items()`` keeps the names as they were given, so a response's headers
    go out spelled as the code wrote them. Values are ``str`` decoded as latin-1, which maps every
    byte one to one, so nothing is lost on the way in or out.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = list(items) if items is not None else []

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        lower = name.lower()
        for key, value in self._items:
            if key.lower() == lower:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order (empty when absent)."""
        lower = name.lower()
        return [value for key, value in self._items if key.lower() == lower]

    def get_list(self, name: str) -> list[str]:
        """The comma-separated list values of ``name`` across all its fields, stripped."""
        return [
            part.strip()
            for value in self.get_all(name)
            for part in value.split(",")
            if part.strip()
        ]

    def add(self, name: str, value: str) -> None:
        """Append a field, keeping any existing ones of the same name."""
        self._items.append((name, value))

    def set(self, name: str, value: str) -> None:
        """Replace every field named ``name`` with one field."""
        self.remove(name)
        self._items.append((name, value))

    def setdefault(self, name: str, value: str) -> str:
        """Set ``name`` unless present; return the value now in force."""
        current = self.get(name)
        if current is None:
            self._items.append((name, value))
            return value
        return current

    def remove(self, name: str) -> None:
        """Drop every field named ``name`` (no error when absent)."""
        lower = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != lower]

    def items(self) -> list[tuple[str, str]]:
        """All fields as (name, value) pairs, in order."""
        return list(self._items)

    def as_dict(self) -> dict[str, list[str]]:
        """Lower-cased name -> list of values: the shape ``parse_request`` returns."""
        result: dict[str, list[str]] = {}
        for key, value in self._items:
            result.setdefault(key.lower(), []).append(value)
        return result

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"
