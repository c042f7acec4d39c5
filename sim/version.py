"""ccsim's version, as installed (every result and report records it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ccsim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
