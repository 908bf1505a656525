"""The two ways loading a dataset can fail, each with a one-line message for the CLI."""

from __future__ import annotations

from pathlib import Path


def one_line(text: object) -> str:
    """``str(text)`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split())


class DatasetNotFound(Exception):
    """The dataset's files are in none of the places we looked; the message says where we
    looked and how to point at them."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class DatasetError(Exception):
    """A dataset file exists but cannot be read as the expected format.

    Attributes
    ----------
    path : the offending file (or folder, when a required file is missing from it).
    reason : what was wrong, one line.
    """

    def __init__(self, path: str | Path, reason: object) -> None:
        self.path = Path(path)
        self.reason = one_line(reason)
        super().__init__(f"{self.path}: {self.reason}")
