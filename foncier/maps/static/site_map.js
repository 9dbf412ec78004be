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
    // a kept site with a constraint that could not be checked (layer missing): a thick dashed purple outline
    var UV_COLOR = '#6a1b9a';
    function style(f) {
        var p = f.properties;
        if (p.x) {
            return {color: '#616161', weight: 1, dashArray: '3 3', fillColor: cfg.excludedColor,
                    fillOpacity: cfg.excludedOpacity, opacity: 0.9, className: 'fx-site fx-excluded'};
        }
        if (p.uv) {
            return {color: UV_COLOR, weight: 2.5, dashArray: '6 4', fillColor: cfg.colors[p.c], fillOpacity: 0.65,
                    opacity: 1, className: 'fx-site fx-unverified'};
        }
        return {color: cfg.outline, weight: 1, fillColor: cfg.colors[p.c], fillOpacity: 0.8,
                opacity: 0.9, className: 'fx-site'};
    }
    function popup(p) {
        var h = '<div class="fx-pop"><div class="fx-pop-h">';
        if (!p.x && p.r <= cfg.top) {
            h += '<span class="fx-rank" style="margin-right:6px">'
                + p.r + '</span>';
        }
        h += '<b>' + esc(T.site) + ' ' + esc(p.id) + '</b>'
            + (p.uv && !p.x ? ' <span class="fx-uv-badge">' + esc(cfg.ui.unverified_badge) + '</span>' : '')
            + '</div><table class="fx-kv">';
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
        h += foncierSiteFacts(p, cfg, num, esc) + '</table>';
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
        if (p.u) {
            h += '<div class="fx-sheet-link"><a href="' + esc(p.u) + '">' + esc(cfg.ui.open_sheet) + ' &rarr;</a></div>';
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
                maxWidth: Math.min(480, map.getSize().x - 40), minWidth: Math.min(340, map.getSize().x - 60),
                autoPanPaddingTopLeft: map.getSize().x < 640 ? L.point(10, 10) : L.point(cfg.padTopLeft),
                autoPanPaddingBottomRight: L.point(cfg.padBottomRight)});
            l.on('mouseover', function(e) { e.target.setStyle({weight: 3, color: cfg.highlight}); });
            l.on('mouseout', function(e) { layer.resetStyle(e.target); });
        }
    });
    layer.addData(data);
    // at small scales a site is a few pixels: a dot in its colour marks it until zoom cfg.dotZoom
    var dots = L.featureGroup(), dotById = {};
    layer.eachLayer(function(l) {
        var p = l.feature.properties;
        if (!p.p) { return; }
        var uv = p.uv && !p.x;
        dotById[p.id] = L.circleMarker(p.p, {radius: p.x ? 3 : (uv ? 6 : 5),
                             color: p.x ? '#757575' : (uv ? UV_COLOR : cfg.outline), weight: uv ? 2 : 1,
                             dashArray: uv ? '3 2' : null, fillColor: fill(p), fillOpacity: p.x ? 0.6 : 0.95,
                             className: uv ? 'fx-site-dot fx-unverified' : 'fx-site-dot'})
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
        var narrow = map.getSize().x < 640;  // a phone: the panel folds away, no room to leave
        map.fitBounds(l.getBounds(), {maxZoom: 15, paddingTopLeft: narrow ? [10, 10] : cfg.padTopLeft,
                                      paddingBottomRight: narrow ? [10, 10] : [40, 40], animate: false});
        l.openPopup();
        return true;
    }
    window.foncier = {map: map, sites: layer, dots: dots, byId: byId, dotById: dotById, open: open, popup: popup,
                      cfg: cfg, fill: fill, num: num, esc: esc, area: area, visible: function() { return true; }};
    return layer;
}

/* Numbered markers on the best sites, placed so that they never overlap (see RankMarkers). */
function foncierRankMarkers(map, points) {
    var group = L.layerGroup();
    var items = points.map(function(d) {
        return {ll: L.latLng(d[0], d[1]), r: d[2], id: d[3]};
    });
    // candidate spots: the site itself, then rings of growing radius (8, 16, 24... positions): there is always
    // a free spot, so two markers never overlap whatever the zoom
    var size = 24, offsets = [[0, 0]];
    for (var ring = 1; ring <= 12; ring++) {
        var rad = 26 * ring, n = 8 * ring;
        for (var k = 0; k < n; k++) {
            var a = -Math.PI / 2 + k * 2 * Math.PI / n;
            offsets.push([Math.round(rad * Math.cos(a)), Math.round(rad * Math.sin(a))]);
        }
    }
    function layout() {
        group.clearLayers();
        if (!map.hasLayer(group)) { return; }
        var placed = [];
        items.forEach(function(it) {
            if (window.foncier && !window.foncier.visible(it.id)) { return; }
            var p = map.latLngToLayerPoint(it.ll), spot = null;
            for (var i = 0; i < offsets.length && spot === null; i++) {
                var q = p.add(L.point(offsets[i][0], offsets[i][1]));
                if (placed.every(function(z) { return Math.max(Math.abs(z.x - q.x), Math.abs(z.y - q.y)) >= size; })) {
                    spot = q;
                }
            }
            if (spot === null) { spot = p; }
            placed.push(spot);
            var ll = map.layerPointToLatLng(spot);
            if (!spot.equals(p)) {
                L.polyline([it.ll, ll], {color: '#111', weight: 1.2, opacity: 0.8, interactive: false})
                    .addTo(group);
            }
            var fp = window.foncier && window.foncier.byId[it.id] ? window.foncier.byId[it.id].feature.properties : {};
            var badge = fp.uv ? '<span class="fx-uv-mark" title="' + window.foncier.esc(window.foncier.cfg.ui.unverified_badge
                + ' : ' + fp.uv) + '">?</span>' : '';
            L.marker(ll, {
                icon: L.divIcon({className: 'fx-rank-icon' + (fp.uv ? ' fx-rank-uv' : ''),
                                 html: '<span class="fx-rank">' + it.r + '</span>' + badge,
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

/* Rows of a site's popup from its optional facts: lorry time, availability (with the date of the last status
   change), rank group (ties), unverified constraints. */
function foncierSiteFacts(p, cfg, num, esc) {
    var U = cfg.ui, h = '';
    if (p.th !== undefined) { h += '<tr><th>' + esc(U.roissy_time_hgv) + '</th><td>' + num(p.th, 0) + ' min</td></tr>'; }
    if (p.av) {
        h += '<tr><th>' + esc(U.availability) + '</th><td><span class="fx-av fx-av-' + esc(p.av) + '">'
            + esc(U['site_av_' + p.av] || p.av) + '</span>'
            + (p.ad ? ' <span class="fx-small">(' + esc(U.status_changed.replace('{date}', p.ad)) + ')</span>' : '')
            + '</td></tr>';
    }
    if (p.g) {
        h += '<tr><th>' + esc(U.rank) + '</th><td class="fx-tie">'
            + esc(U.tie_group.replace('{first}', p.g[0]).replace('{last}', p.g[1])) + '</td></tr>';
    }
    if (p.uv) { h += '<tr><th>' + esc(U.unverified_constraints) + '</th><td class="fx-uv">' + esc(p.uv) + '</td></tr>'; }
    return h;
}

/* Accent- and case-insensitive text for searching. */
function foncierFold(s) {
    return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

/* Search box, filters, the list of the best shown sites, orientation labels and the phone layout of the site
   map. Needs foncierSitesLayer (window.foncier). */
function foncierSiteMapUi(map) {
    var F = window.foncier, cfg = F.cfg, U = cfg.ui, esc = F.esc;
    var all = [];
    F.sites.eachLayer(function(l) { all.push(l); });
    var props = all.map(function(l) { return l.feature.properties; });
    var panel = document.querySelector('.fx-panel');
    var small = window.matchMedia('(max-width: 640px)').matches;
    if (small) { document.body.classList.add('fx-phone'); }

    // ------------------------------------------------------------------ search
    var box = L.DomUtil.create('div', 'fx-find');
    box.innerHTML = '<input type="search" class="fx-search" autocomplete="off" aria-label="' + esc(U.search)
        + '" placeholder="' + esc(U.search_placeholder) + '"><ul class="fx-search-results" hidden></ul>';
    var input = box.querySelector('input'), results = box.querySelector('ul');
    function matches(q) {
        var f = foncierFold(q).trim();
        if (!f) { return []; }
        var up = f.toUpperCase();
        return props.filter(function(p) {
            return foncierFold(p.id).indexOf(f) >= 0 || foncierFold(p.m).indexOf(f) >= 0
                || (p.ids && p.ids.indexOf(up) >= 0);
        }).sort(function(a, b) { return a.r - b.r; });
    }
    function showResults() {
        var found = matches(input.value);
        results.hidden = !input.value.trim();
        if (!found.length) {
            results.innerHTML = '<li class="fx-none">' + esc(U.search_none) + '</li>';
            return;
        }
        results.innerHTML = found.slice(0, 8).map(function(p) {
            return '<li tabindex="0" role="button" data-find="' + esc(p.id) + '"><b>' + esc(p.m || p.id) + '</b> '
                + '<span class="fx-small">' + esc(U.rank) + ' ' + p.r + ' · ' + esc(p.id) + '</span></li>';
        }).join('');
    }
    function openFound(id) { results.hidden = true; F.open(id); }
    input.addEventListener('input', showResults);
    input.addEventListener('keydown', function(e) {
        if (e.key === 'Enter') {
            var found = matches(input.value);
            if (found.length) { e.preventDefault(); openFound(found[0].id); }
        }
    });
    results.addEventListener('click', function(e) {
        var li = e.target.closest('[data-find]');
        if (li) { openFound(li.getAttribute('data-find')); }
    });

    // ------------------------------------------------------------------ filters
    var o = cfg.filters, f = '';
    function num(name, label, step) {
        return '<label>' + esc(label) + ' <input type="number" min="0" step="' + step + '" name="' + name + '"></label>';
    }
    if (o.area) { f += num('area', U.filter_min_area, '0.5'); }
    if (o.lot) { f += num('lot', U.filter_min_lot, '0.5'); }
    if (o.time) { f += num('time', U.filter_max_time, '5'); }
    if (o.zoning && o.zoning.length) {
        f += '<label>' + esc(U.filter_zoning) + ' <select name="zoning"><option value="">' + esc(U.filter_any)
            + '</option>' + o.zoning.map(function(z) {
                return '<option value="' + esc(z[0]) + '">' + esc(z[1]) + '</option>'; }).join('') + '</select></label>';
    }
    if (o.brownfield) { f += '<label class="fx-check"><input type="checkbox" name="brownfield"> ' + esc(U.filter_brownfield) + '</label>'; }
    if (o.available) { f += '<label class="fx-check"><input type="checkbox" name="available"> ' + esc(U.filter_available) + '</label>'; }
    var filters = L.DomUtil.create('details', 'fx-filters');
    filters.innerHTML = '<summary>' + esc(U.filters) + '</summary><form>' + f
        + '<button type="reset">' + esc(U.filter_reset) + '</button></form><div class="fx-small fx-count"></div>';
    var form = filters.querySelector('form');
    function value(name) {
        var el = form.elements[name];
        if (!el) { return null; }
        if (el.type === 'checkbox') { return el.checked; }
        if (el.value === '') { return null; }
        return el.type === 'number' ? parseFloat(el.value) : el.value;
    }
    function pass(p) {
        var v;
        if ((v = value('area')) !== null && !(p.a >= v * 10000)) { return false; }
        if ((v = value('lot')) !== null && !(p.hi >= v * 10000)) { return false; }
        if ((v = value('time')) !== null && !(p.t !== undefined && p.t !== null && p.t <= v)) { return false; }
        if ((v = value('zoning')) && p.z !== v) { return false; }
        if (value('brownfield') && !p.bf) { return false; }
        if (value('available') && p.av !== 'free') { return false; }
        return true;
    }
    var shown = {};
    F.visible = function(id) { return shown[id] !== false; };

    // ------------------------------------------------------------------ the list of the best shown sites
    var list = panel ? panel.querySelector('ol') : null;
    function item(p) {
        var detail = [F.area(p.a), p.id];
        if (p.g) { detail.push(U.tie_short.replace('{first}', p.g[0]).replace('{last}', p.g[1])); }
        var colour = F.fill(p), facts = [];
        if (p.av) {
            facts.push('<span class="fx-av fx-av-' + esc(p.av) + '">' + esc(U['site_av_' + p.av] || p.av) + '</span>'
                + (p.ad ? ' (' + esc(U.status_changed.replace('{date}', p.ad)) + ')' : ''));
        }
        if (p.uv) { facts.push('<span class="fx-uv-badge" title="' + esc(p.uv) + '">' + esc(U.unverified_badge) + '</span>'); }
        return '<li tabindex="0" role="button" data-site="' + esc(p.id) + '"><span class="fx-rank">' + p.r + '</span>'
            + '<span class="fx-li-main"><b>' + esc(p.m || p.id) + '</b><span class="fx-small">'
            + esc(detail.join(' · ')) + '</span>'
            + (facts.length ? '<span class="fx-small fx-li-facts">' + facts.join(' ') + '</span>' : '') + '</span><span class="fx-li-score" style="background:' + colour
            + ';color:' + (p.x ? '#111' : cfg.textColors[p.c]) + '">' + F.num(p.s, 2) + '</span></li>';
    }
    function apply() {
        var n = 0, best = [];
        all.forEach(function(l) {
            var p = l.feature.properties, ok = pass(p);
            shown[p.id] = ok;
            if (ok) { n++; }
            var onMap = F.sites.hasLayer(l);
            if (ok && !onMap) { F.sites.addLayer(l); }
            if (!ok && onMap) { F.sites.removeLayer(l); }
            var dot = F.dotById[p.id];
            if (dot) {
                if (ok && !F.dots.hasLayer(dot)) { F.dots.addLayer(dot); }
                if (!ok && F.dots.hasLayer(dot)) { F.dots.removeLayer(dot); }
            }
            if (ok && !p.x) { best.push(p); }
        });
        best.sort(function(a, b) { return a.r - b.r; });
        if (list) {
            list.innerHTML = best.slice(0, cfg.top).map(item).join('');
            list.querySelectorAll('[data-site]').forEach(function(el) {
                el.addEventListener('click', function() { F.open(el.getAttribute('data-site')); });
                el.addEventListener('keydown', function(e) {
                    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); F.open(el.getAttribute('data-site')); }
                });
            });
        }
        filters.querySelector('.fx-count').textContent = U.filter_count.replace('{n}', n).replace('{total}', all.length);
        if (window.foncierRankLayout) { window.foncierRankLayout(); }
    }
    form.addEventListener('input', apply);
    form.addEventListener('change', apply);
    form.addEventListener('reset', function() { setTimeout(apply, 0); });
    if (panel) {
        var head = panel.querySelector('h3') || panel.firstChild;
        panel.insertBefore(box, head);
        panel.insertBefore(filters, head);
    }
    apply();

    // ------------------------------------------------------------------ orientation
    foncierOrientation(map, {towns: cfg.towns, roadLabels: cfg.roadLabels,
                             targets: cfg.cdg ? [[cfg.cdg[0], cfg.cdg[1], U.roissy_label, 'fx-cdg']] : []},
                       {direction: U.target_direction});
    var iso = L.layerGroup();
    (cfg.isoLabels || []).forEach(function(r) {
        L.marker([r[0], r[1]], {icon: L.divIcon({className: 'fx-label fx-iso', iconSize: null,
            html: esc(r[2] + ' min (' + cfg.vehicle + ')')}), interactive: false, keyboard: false}).addTo(iso);
    });
    // the isochrone labels follow their layer (on when it is shown)
    var isoTitle = cfg.isoTitle || '';
    map.on('overlayadd', function(e) { if (isoTitle && e.name.indexOf(isoTitle) >= 0) { iso.addTo(map); } });
    map.on('overlayremove', function(e) { if (isoTitle && e.name.indexOf(isoTitle) >= 0) { map.removeLayer(iso); } });
    if (cfg.isoShown) { iso.addTo(map); }

    // ------------------------------------------------------------------ phone: panel, legend and layers fold
    function foldable(el, title, open) {
        if (!el) { return; }
        var btn = L.DomUtil.create('button', 'fx-fold', el);
        btn.type = 'button';
        btn.textContent = title;
        el.insertBefore(btn, el.firstChild);
        el.classList.add('fx-foldable');
        if (!open) { el.classList.add('fx-folded'); }
        btn.setAttribute('aria-expanded', open ? 'true' : 'false');
        btn.addEventListener('click', function() {
            var folded = el.classList.toggle('fx-folded');
            btn.setAttribute('aria-expanded', folded ? 'false' : 'true');
        });
    }
    foldable(panel, U.panel_toggle, !small);
    // on a phone, opening a site folds the panel away so that its popup shows
    var openSite = F.open;
    F.open = function(id) {
        if (window.matchMedia('(max-width: 640px)').matches && panel) { panel.classList.add('fx-folded'); }
        return openSite(id);
    };
    foldable(document.querySelector('.fx-legend'), U.legend_toggle, !small);
    var layersBox = document.querySelector('.leaflet-control-layers');
    foldable(layersBox, '☰', !small);
    // an open popup comes first: the layer list (top right) steps aside while it is open
    function overlaps(a, b) {
        var r = a.getBoundingClientRect(), q = b.getBoundingClientRect();
        return r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom;
    }
    map.on('popupopen', function(e) {
        var el = e.popup.getElement();
        if (!layersBox || !el) { return; }
        // after the popup's auto-pan: step aside only when the popup lies under the layer list
        setTimeout(function() { if (overlaps(el, layersBox)) { layersBox.classList.add('fx-aside'); } }, 0);
    });
    map.on('popupclose', function() { if (layersBox) { layersBox.classList.remove('fx-aside'); } });
}
