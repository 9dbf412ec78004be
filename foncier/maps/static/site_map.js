/* foncier site map (loaded into the page by foncier.maps.site_map). */

/* The candidate sites layer: colours, tooltips, popups built from compact properties, dots at small
   scales; registers window.foncier (map, sites, byId, open). */
function foncierSitesLayer(map, data, cfg) {
    var T = cfg.text, lang = cfg.lang;
    var nf = {};
    function num(x, d) {
        if (x === null || x === undefined || isNaN(x)) { return '–'; }
        var key = String(d);
        if (!nf[key]) { nf[key] = new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB',
            {minimumFractionDigits: d, maximumFractionDigits: d}); }
        return nf[key].format(x);
    }
    function esc(s) {
        return String(s).replace(/[&<>"']/g, function(c) {
            return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; });
    }
    function area(m2) {
        if (m2 === null || m2 === undefined) { return '–'; }
        if (m2 < 1000) { return num(m2, 0) + ' m²'; }
        var ha = m2 / 10000; return num(ha, ha < 10 ? 2 : 1) + ' ha';
    }
    function raw(v, unit) {
        if (v === null || v === undefined) { return '–'; }
        if (typeof v === 'string') { return esc(T['zoning_class_' + v] || v); }
        switch (unit) {
            case '0..1': return num(v * 100, 0) + ' %';
            case 'm2': return area(v);
            case 'm': return v >= 1000 ? num(v / 1000, 1) + ' km' : num(v, 0) + ' m';
            case 'min': return num(v, 0) + ' min';
            case '%': return num(v, 1) + ' %';
            case 'persons': return num(v, 0) + ' ' + T.unit_persons;
            default: return num(v, 2);
        }
    }
    function fill(p) { return p.x ? cfg.excludedColor : cfg.colors[p.c]; }
    function style(f) {
        var p = f.properties;
        return p.x ? {color: '#616161', weight: 1, dashArray: '3 3', fillColor: cfg.excludedColor,
                      fillOpacity: cfg.excludedOpacity, opacity: 0.9, className: 'fx-site fx-excluded'}
                   : {color: cfg.outline, weight: 1, fillColor: cfg.colors[p.c], fillOpacity: 0.8,
                      opacity: 0.9, className: 'fx-site'};
    }
    function popup(p) {
        var h = '<div class="fx-pop"><div class="fx-pop-h">';
        if (!p.x && p.r <= cfg.top) {
            h += '<span class="fx-rank" style="margin-right:6px">'
                + p.r + '</span>';
        }
        h += '<b>' + esc(T.site) + ' ' + esc(p.id) + '</b></div><table class="fx-kv">';
        h += '<tr><th>' + T.score + '</th><td><span class="fx-swatch" style="background:' + fill(p)
            + '"></span><b>' + num(p.s, 2) + '</b> · ' + T.rank + ' '
            + T.rank_of.replace('{rank}', p.r).replace('{n}', cfg.n) + '</td></tr>';
        h += '<tr><th>' + T.area + '</th><td>' + area(p.a)
            + (p.n ? ' · ' + p.n + ' ' + T.parcels.toLowerCase() : '') + '</td></tr>';
        if (p.lo !== undefined) {
            h += '<tr><th>' + T.smallest_lot + '</th><td>' + area(p.lo) + '</td></tr>';
            h += '<tr><th>' + T.largest_lot + '</th><td>' + area(p.hi) + '</td></tr>';
        }
        if (p.t !== undefined && p.t !== null) {
            h += '<tr><th>' + T.roissy_time + '</th><td>' + num(p.t, 0) + ' min</td></tr>';
        }
        if (p.m) { h += '<tr><th>' + T.communes + '</th><td>' + esc(p.m) + '</td></tr>'; }
        h += '</table>';
        if (p.x) {
            h += '<div class="fx-excl"><b>' + T.excluded + '</b> — ' + esc(p.why || '') + '</div>';
        }
        if (p.b && cfg.criteria.length) {
            var wmax = 0;
            cfg.criteria.forEach(function(c) { wmax = Math.max(wmax, c.w); });
            h += '<div class="fx-bd-title">' + T.breakdown + '</div><table class="fx-bd">';
            cfg.criteria.forEach(function(c, i) {
                var pair = p.b[i] || [null, 0];
                var contrib = c.w * pair[1];  // an excluded site: what it would have earned
                var wpx = wmax > 0 ? Math.round(90 * c.w / wmax) : 0;
                var cpx = wmax > 0 ? Math.round(90 * contrib / wmax) : 0;
                h += '<tr><td class="fx-bd-l">' + esc(c.l) + '</td><td class="fx-bd-v">' + raw(pair[0], c.u)
                    + '</td><td class="fx-bd-bar"><span class="fx-bar-w" style="width:' + wpx + 'px">'
                    + '<span class="fx-bar-c" style="width:' + cpx + 'px;background:'
                    + (p.x ? cfg.excludedBar : fill(p)) + '"></span></span></td><td class="fx-bd-n">'
                    + (p.x ? '(' + num(contrib, 3) + ')' : num(contrib, 3)) + '</td></tr>';
            });
            h += '</table><div class="fx-small">' + (p.x ? T.breakdown_excluded_note : T.breakdown_note)
                + '</div>';
        }
        return h + '</div>';
    }
    var byId = {};
    var layer = L.geoJson(null, {
        style: style,
        onEachFeature: function(f, l) {
            var p = f.properties;
            byId[p.id] = l;
            l.bindTooltip(function() {
                return (p.x ? T.excluded : T.rank + ' ' + p.r) + ' · ' + T.score + ' ' + num(p.s, 2);
            }, {sticky: true});
            l.bindPopup(function() { return popup(p); }, {
                maxWidth: 480, minWidth: 340, autoPanPaddingTopLeft: L.point(cfg.padTopLeft),
                autoPanPaddingBottomRight: L.point(cfg.padBottomRight)});
            l.on('mouseover', function(e) { e.target.setStyle({weight: 3, color: cfg.highlight}); });
            l.on('mouseout', function(e) { layer.resetStyle(e.target); });
        }
    });
    layer.addData(data);
    // at small scales a site is a few pixels: a dot in its colour marks it until zoom cfg.dotZoom
    var dots = L.featureGroup();
    layer.eachLayer(function(l) {
        var p = l.feature.properties;
        if (!p.p) { return; }
        L.circleMarker(p.p, {radius: p.x ? 3 : 5, color: p.x ? '#757575' : cfg.outline, weight: 1,
                             fillColor: fill(p), fillOpacity: p.x ? 0.6 : 0.95, className: 'fx-site-dot'})
            .bindTooltip(l.getTooltip().getContent(), {sticky: true})
            .on('click', function() { open(p.id); })
            .addTo(dots);
    });
    function showDots() {
        var want = map.hasLayer(layer) && map.getZoom() < cfg.dotZoom;
        if (want && !map.hasLayer(dots)) { map.addLayer(dots); }
        if (!want && map.hasLayer(dots)) { map.removeLayer(dots); }
    }
    map.on('zoomend', showDots);
    layer.on('add remove', function() { setTimeout(showDots, 0); });
    function open(id) {
        var l = byId[id];
        if (!l) { return false; }
        if (!map.hasLayer(layer)) { map.addLayer(layer); }
        map.fitBounds(l.getBounds(), {maxZoom: 15, paddingTopLeft: cfg.padTopLeft,
                                      paddingBottomRight: [40, 40], animate: false});
        l.openPopup();
        return true;
    }
    window.foncier = {map: map, sites: layer, dots: dots, byId: byId, open: open, popup: popup};
    return layer;
}

/* Numbered markers on the best sites, placed so that they never overlap (see RankMarkers). */
function foncierRankMarkers(map, points) {
var group = L.layerGroup();
    var items = points.map(function(d) {
        return {ll: L.latLng(d[0], d[1]), r: d[2], id: d[3]};
    });
    var size = 24, offsets = [[0, 0]];
    [28, 54].forEach(function(rad) {
        for (var k = 0; k < 8; k++) {
            var a = -Math.PI / 2 + k * Math.PI / 4;
            offsets.push([Math.round(rad * Math.cos(a)), Math.round(rad * Math.sin(a))]);
        }
    });
    function layout() {
        group.clearLayers();
        if (!map.hasLayer(group)) { return; }
        var placed = [];
        items.forEach(function(it) {
            var p = map.latLngToLayerPoint(it.ll), spot = null;
            for (var i = 0; i < offsets.length && spot === null; i++) {
                var q = p.add(L.point(offsets[i][0], offsets[i][1]));
                if (placed.every(function(z) { return z.distanceTo(q) >= size; })) { spot = q; }
            }
            if (spot === null) { spot = p; }
            placed.push(spot);
            var ll = map.layerPointToLatLng(spot);
            if (!spot.equals(p)) {
                L.polyline([it.ll, ll], {color: '#111', weight: 1.2, opacity: 0.8, interactive: false})
                    .addTo(group);
            }
            L.marker(ll, {
                icon: L.divIcon({className: 'fx-rank-icon', html: '<span class="fx-rank">' + it.r + '</span>',
                                 iconSize: [size, size], iconAnchor: [size / 2, size / 2]}),
                title: it.id, keyboard: false, riseOnHover: true, zIndexOffset: 1000 - it.r
            }).on('click', function() { window.foncier.open(it.id); }).addTo(group);
        });
    }
    group.on('add', function() { map.on('zoomend', layout); layout(); });
    group.on('remove', function() { map.off('zoomend', layout); });
    window.foncierRankLayout = layout;
    return group;
}

/* The side panel's entries zoom to their site. */
function foncierPanelClicks() {
document.querySelectorAll('.fx-panel [data-site]').forEach(function(el) {
        el.addEventListener('click', function() { window.foncier.open(el.getAttribute('data-site')); });
        el.addEventListener('keydown', function(e) {
            if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault(); window.foncier.open(el.getAttribute('data-site'));
            }
        });
    });
}
