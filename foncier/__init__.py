"""foncier: find and rank land for new industrial firms in a Territoire d'Industrie.

The package is laid out as the design card says, one top-level folder per concern, each importable
under the ``foncier`` namespace:

- :mod:`foncier.geo` the pure spatial engine (no I/O),
- :mod:`foncier.layers` data in and out (sources, readers, validation, workspace, sample territory),
- :mod:`foncier.maps` Folium map builders,
- :mod:`foncier.api` the FastAPI application,
- :mod:`foncier.scripts` the ``foncier`` command line.

:mod:`foncier.errors` holds the exception hierarchy shared by all of them.
"""

from foncier._version import __version__

__all__ = ["__version__"]
