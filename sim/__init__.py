"""ccsim: investigative capacity in the London police complaints and conduct system."""

from sim.version import __version__

__all__ = ["__version__"]
