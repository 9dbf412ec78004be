"""foncier.maps: Folium map builders taking GeoDataFrames and returning maps or HTML (see docs/MAPS.md).

- :mod:`foncier.maps.site_map` the site map of a profile (sites by score, best ones numbered and listed);
- :mod:`foncier.maps.site_sheet` one site's printable sheet;
- :mod:`foncier.maps.parcel_map` the land officers' parcel map (vector tiles of the API);
- :mod:`foncier.maps.export` writing files, offline asset folders and the offline check;
- :mod:`foncier.maps.assets` CDN or local copies of Leaflet and the plugins (npm packages);
- :mod:`foncier.maps.style`, :mod:`foncier.maps.i18n`, :mod:`foncier.maps.display`,
  :mod:`foncier.maps.elements` colours, labels (French by default), generalisation, page elements.

The builders know nothing of where data came from: :mod:`foncier.scripts.map` reads a workspace for them.
"""
