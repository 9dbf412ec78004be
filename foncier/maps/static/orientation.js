/* foncier: orientation on every map: towns and numbered roads named by zoom, places of interest labelled
   (Roissy-CDG, the nearest interchange) with an arrow on the map's edge towards each one off the map, and the
   always-visible attribution line. */

function foncierEsc(s) {
    return String(s).replace(/[&<>"']/g, function(c) {
        return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; });
}

/* cfg: towns [[lat, lon, name, population]], roadLabels [[lat, lon, ref]], targets [[lat, lon, label, class]];
   text.direction: the edge arrows' text, "{label}" and "{km}" replaced. */
function foncierOrientation(map, cfg, text) {
    var esc = foncierEsc, labels = L.layerGroup().addTo(map), pending = [];
    function label(ll, cls, html, minZoom) {
        var m = L.marker(ll, {icon: L.divIcon({className: 'fx-label ' + cls, html: html, iconSize: null}),
                              interactive: false, keyboard: false});
        m.fxMinZoom = minZoom;
        return m;
    }
    (cfg.towns || []).forEach(function(t) {
        var minZoom = t[3] >= 5000 ? 0 : (t[3] >= 1500 ? 11 : 12.5);
        pending.push(label([t[0], t[1]], t[3] >= 5000 ? 'fx-town fx-town-big' : 'fx-town', esc(t[2]), minZoom));
    });
    (cfg.roadLabels || []).forEach(function(r) {
        var kind = r[2].charAt(0).toUpperCase();
        pending.push(label([r[0], r[1]], 'fx-road fx-road-' + kind, esc(r[2]), kind === 'D' ? 11.5 : 9));
    });
    function refresh() {
        var z = map.getZoom();
        pending.forEach(function(m) {
            var want = z >= m.fxMinZoom;
            if (want && !labels.hasLayer(m)) { labels.addLayer(m); }
            if (!want && labels.hasLayer(m)) { labels.removeLayer(m); }
        });
    }
    map.on('zoomend', refresh);
    refresh();
    (cfg.targets || []).forEach(function(tg, k) {
        var ll = L.latLng(tg[0], tg[1]), cls = tg[3] || 'fx-target';
        L.marker(ll, {icon: L.divIcon({className: 'fx-label ' + cls, iconSize: null,
            html: (cls === 'fx-cdg' ? '&#9992; ' : '&#9670; ') + esc(tg[2])}), interactive: false, keyboard: false})
            .addTo(map);
        var arrow = L.DomUtil.create('div', 'fx-cdg-arrow fx-edge-arrow', map.getContainer());
        arrow.setAttribute('role', 'note');
        function place() {
            if (map.getBounds().contains(ll)) { arrow.style.display = 'none'; return; }
            var size = map.getSize(), c = size.divideBy(2), p = map.latLngToContainerPoint(ll);
            // where the ray from the centre leaves the map, inset to clear the corners' controls
            var dx = p.x - c.x, dy = p.y - c.y, ix = Math.min(140, c.x - 10), iy = (dy > 0 ? 80 : 60) + 26 * k;
            var t = Math.min(Math.abs((c.x - ix) / (dx || 1e-9)), Math.abs((c.y - iy) / (dy || 1e-9)));
            var km = Math.round(map.distance(map.getCenter(), ll) / 100) / 10;
            arrow.style.display = 'block';
            arrow.style.left = Math.round(c.x + dx * t) + 'px';
            arrow.style.top = Math.round(c.y + dy * t) + 'px';
            var words = (text.direction || '{label} {km} km').replace('{km}', km >= 10 ? Math.round(km) : km)
                .replace('{label}', tg[2]);
            arrow.innerHTML = '<span class="fx-cdg-pointer" style="transform:rotate(' + Math.atan2(dy, dx) + 'rad)">'
                + '&#10148;</span><span class="fx-cdg-text">' + esc(words) + '</span>';
        }
        map.on('moveend zoomend resize', place);
        place();
        L.DomEvent.disableClickPropagation(arrow);
        arrow.addEventListener('click', function() { map.setView(ll, Math.min(Math.max(map.getZoom(), 9), 13)); });
    });
}

/* The always-visible attribution line (sources of the layers shown). */
function foncierAttribution(map, text) {
    if (!text) { return; }
    var ctl = map.attributionControl;
    if (!ctl) { ctl = L.control.attribution({position: 'bottomright'}).addTo(map); }
    ctl.setPrefix(false);
    ctl.addAttribution(text);
    ctl.getContainer().classList.add('fx-attribution');
}

