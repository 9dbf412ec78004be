/* foncier parcel map: parcels from the API's vector tiles, coloured by availability or zoning, with popups. */
function foncierParcelLayer(map, cfg) {
    var T = cfg.text;
    function esc(s) { return String(s).replace(/[&<>"']/g, function(c) {
        return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; }); }
    function colour(p) {
        if (cfg.colorBy === 'availability') { return cfg.colors[p.status] || cfg.colors.unknown; }
        if (cfg.colorBy === 'state') { return cfg.colors[p.state] || cfg.colors.to_verify; }
        if (p.typezone) { return cfg.colors[p.typezone] || cfg.colors.other; }
        return null;
    }
    function style(p) {
        var c = colour(p);
        var known = cfg.colorBy === 'state' ? (p.state && p.state !== 'to_verify')
            : cfg.colorBy !== 'availability' || (p.status && cfg.colors[p.status]);
        return c ? {weight: 0.6, color: '#444', opacity: 0.8, fill: true, fillColor: c,
                    fillOpacity: known ? 0.6 : 0.12}
                 : {weight: 0.8, color: '#333', opacity: 0.9, fill: true, fillColor: '#fff', fillOpacity: 0.01};
    }
    var styles = {};
    styles[cfg.layer] = function(p, z) { return style(p); };
    var grid = L.vectorGrid.protobuf(cfg.url, {
        vectorTileLayerStyles: styles, interactive: true, minZoom: cfg.minZoom,
        maxNativeZoom: cfg.maxNativeZoom,
        rendererFactory: L.svg.tile, attribution: cfg.attribution,
        getFeatureId: function(f) { return f.properties.parcel_id; }
    });
    grid.on('click', function(e) {
        var p = e.layer.properties || {};
        var rows = [[T.parcel_id, '<code>' + esc(p.parcel_id || '') + '</code>'],
                    [T.commune, esc(cfg.communes[p.commune] ? cfg.communes[p.commune] + ' (' + p.commune + ')'
                                  : (p.commune || ''))]];
        if (p.contenance_m2 !== undefined) {
            rows.push([T.contenance, esc(Math.round(p.contenance_m2).toLocaleString(cfg.locale) + ' m²')]);
        }
        rows.push([T.status, esc(T['availability_' + (p.status || 'unknown')] || p.status)]);
        if (p.state) { rows.push([T.state, esc(T['parcel_state_' + p.state] || p.state)]); }
        if (p.typezone) { rows.push([T.zoning, esc(p.typezone)]); }
        var h = '<table class="fx-kv">' + rows.map(function(r) {
            return '<tr><th>' + r[0] + '</th><td>' + r[1] + '</td></tr>'; }).join('') + '</table>';
        L.popup().setLatLng(e.latlng).setContent(h).openOn(map);
    });
    window.foncierParcels = grid;
    return grid;
}
