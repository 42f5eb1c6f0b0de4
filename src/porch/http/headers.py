"""``Headers``: an ordered, case-insensitive multi-map of header fields."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Headers:
    """Header fields in the order received; a name may repeat.

    Lookups ignore case; ``items()`` keeps the names as they were given, so a response's headers
    go out spelled as the code wrote them. Values are ``str`` decoded as latin-1, which maps every
    byte one to one, so nothing is lost on the way in or out.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = list(items) if items is not None else []
        # Lower-cased name -> values, built on the first lookup and dropped on any change: a
        # request's headers are looked up a dozen times, so one pass beats a scan per lookup.
        self._index: dict[str, list[str]] | None = None

    def _lookup(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for key, value in self._items:
                lower = key.lower()
                found = index.get(lower)
                if found is None:
                    index[lower] = [value]
                else:
                    found.append(value)
            self._index = index
        return index

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        found = self._lookup().get(name.lower())
        return found[0] if found else default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order (empty when absent)."""
        found = self._lookup().get(name.lower())
        return list(found) if found else []

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
        self._indexed(name, value)

    def _indexed(self, name: str, value: str) -> None:
        """Keep a built index in step with a field just appended (cheaper than a rebuild)."""
        index = self._index
        if index is not None:
            found = index.get(name.lower())
            if found is None:
                index[name.lower()] = [value]
            else:
                found.append(value)

    def set(self, name: str, value: str) -> None:
        """Replace every field named ``name`` with one field."""
        if name.lower() in self._lookup():
            self.remove(name)
        self._items.append((name, value))
        self._indexed(name, value)

    def setdefault(self, name: str, value: str) -> str:
        """Set ``name`` unless present; return the value now in force."""
        current = self.get(name)
        if current is None:
            self._items.append((name, value))
            self._indexed(name, value)
            return value
        return current

    def remove(self, name: str) -> None:
        """Drop every field named ``name`` (no error when absent)."""
        lower = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != lower]
        self._index = None

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
