"""The folder flags (issue 15) parse into their Config fields, with their defaults."""

from __future__ import annotations

from pathlib import Path

from porch import config
from porch.cli import build_parser, config_from_args


def settings(root: Path, *flags: str) -> config.Config:
    parser = build_parser()
    return config_from_args(parser.parse_args([str(root), *flags]), parser)


def test_defaults(tmp_path: Path) -> None:
    got = settings(tmp_path)
    assert (got.archives, got.thumbnails, got.readmes) == (True, True, True)
    assert got.max_archive_entries == config.DEFAULT_MAX_ARCHIVE_ENTRIES
    assert got.max_archive_size == config.DEFAULT_MAX_ARCHIVE_SIZE
    assert got.max_search_results == config.DEFAULT_MAX_SEARCH_RESULTS
    assert got.search_seconds == config.DEFAULT_SEARCH_SECONDS
    assert got.max_thumbnail_pixels == config.DEFAULT_MAX_THUMBNAIL_PIXELS
    assert got.thumbnail_workers == config.DEFAULT_THUMBNAIL_WORKERS
    assert got.max_readme_size == config.DEFAULT_MAX_README_SIZE


def test_every_flag(tmp_path: Path) -> None:
    got = settings(
        tmp_path,
        "--no-archives",
        "--max-archive-entries=7",
        "--max-archive-size=2G",
        "--max-search-results=9",
        "--search-seconds=0.5",
        "--no-thumbnails",
        "--max-thumbnail-pixels=1000",
        "--thumbnail-workers=3",
        "--no-readmes",
        "--max-readme-size=4K",
    )
    assert (got.archives, got.thumbnails, got.readmes) == (False, False, False)
    assert (got.max_archive_entries, got.max_archive_size) == (7, 2 * 1024**3)
    assert (got.max_search_results, got.search_seconds) == (9, 0.5)
    assert (got.max_thumbnail_pixels, got.thumbnail_workers) == (1000, 3)
    assert got.max_readme_size == 4096
