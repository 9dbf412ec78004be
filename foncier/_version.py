"""Version of the foncier package."""

__version__ = "0.1.0"
