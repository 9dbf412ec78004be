/* foncier comparison page: numbered markers, one per site; a marker that would cover another moves
   aside with a leader line to its site. */
function foncierCompareMarkers(map, points) {
    var items = points, group = L.layerGroup().addTo(map), size = 28, offsets = [[0, 0]];
    [30, 58].forEach(function(rad) { for (var k = 0; k < 8; k++) { var a = -Math.PI / 2 + k * Math.PI / 4;
      offsets.push([Math.round(rad * Math.cos(a)), Math.round(rad * Math.sin(a))]); } });
    function layout() {
      group.clearLayers();
      var placed = [];
      items.forEach(function(d) {
        var ll0 = L.latLng(d[0], d[1]), p = map.latLngToLayerPoint(ll0), spot = null;
        for (var i = 0; i < offsets.length && spot === null; i++) {
          var q = p.add(L.point(offsets[i][0], offsets[i][1]));
          if (placed.every(function(z) { return z.distanceTo(q) >= size; })) { spot = q; }
        }
        if (spot === null) { spot = p; }
        placed.push(spot);
        var ll = map.layerPointToLatLng(spot);
        if (!spot.equals(p)) {
          L.polyline([ll0, ll], {color: '#111', weight: 1.2, opacity: 0.8, interactive: false}).addTo(group);
        }
        L.marker(ll, {icon: L.divIcon({className: 'fx-rank-icon', iconSize: [26, 26], iconAnchor: [13, 13],
          html: '<span class="fx-rank fx-rank-big" style="background:' + d[3] + ';color:' + d[4] + '">' + d[2] +
            '</span>'}),
          title: d[5], keyboard: false}).addTo(group);
      });
    }
    map.on('zoomend', layout);
    map.whenReady(layout);
}
