"""The version of tradesim (one place: the package, run.json and the packaging read it here)."""

__version__ = "0.2.0"
