/* The consoles' map: Leaflet over the basemap that ships with Siaga (coastline, outlines; works with the
   internet down), with the site's street map on it when `siaga map import` made one (vector tiles from this
   server's PMTiles archive, drawn by protomaps-leaflet: streets.js), or a site's own tile server when
   SIAGA_MAP_TILE_URL is set. The view opens on the site's regency. Layers: incidents, units, the caller's
   location with its accuracy circle, the point the operator picks, search sectors, and the sector being
   drawn (points placed by mouse or touch). */
"use strict";

const PRIORITY_COLOURS = {1: "#b00020", 2: "#e65100", 3: "#1565c0", 4: "#455a64"};
const UNIT_COLOURS = {available: "#2e7d32", assigned: "#6a1b9a", en_route: "#e65100", on_scene: "#b00020",
  returning: "#00838f", out_of_service: "#616161"};
const SECTOR_COLOURS = {open: "#e65100", searching: "#1565c0", cleared: "#2e7d32"};

const STREETS_SCRIPTS = ["/static/vendor/protomaps-leaflet@5.1.0/protomaps-leaflet.js", "/static/js/streets.js"];
const OSM_ATTRIBUTION = '<a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">' +
  "© OpenStreetMap contributors</a>";

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const existing = document.querySelector(`script[src="${src}"]`);
    if (existing && existing.dataset.loaded) { resolve(); return; }
    const script = existing || document.createElement("script");
    script.addEventListener("load", () => { script.dataset.loaded = "1"; resolve(); });
    script.addEventListener("error", () => reject(new Error(src)));
    if (!existing) { script.src = src; document.head.appendChild(script); }
  });
}

function esc(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}

async function getJSON(url) {
  if (!url) return null;
  try {
    const r = await fetch(url);
    return r.ok ? await r.json() : null;
  } catch (err) { return null; }
}

class SiagaMap {
  constructor(el, options) {
    options = options || {};
    this.map = L.map(el, {preferCanvas: true, zoomControl: true, maxZoom: 19});
    this.map.fitBounds(REF.map.bounds, {padding: [8, 8]});
    this.map.attributionControl.setPrefix(false);
    // Land and coast of the built-in basemap sit under the tiles (the tile pane is at 200), the outlines
    // above them: streets drawn on land, never hidden by it.
    this.map.createPane("land").style.zIndex = 150;
    this.map.getPane("land").style.pointerEvents = "none";
    this.landRenderer = L.canvas({pane: "land"});
    this.streets = null;
    if (REF.map.tile_url) {
      L.tileLayer(REF.map.tile_url, {maxZoom: 19, attribution: esc(REF.map.tile_attribution)}).addTo(this.map);
    } else {
      el.style.background = "#cfe3f3";  // sea
    }
    if (REF.map.vector) this.loadStreets(REF.map.vector);
    this.loadBasemap();
    this.incidentLayer = L.layerGroup().addTo(this.map);
    this.unitLayer = L.layerGroup().addTo(this.map);
    this.callerLayer = L.layerGroup().addTo(this.map);
    this.pickLayer = L.layerGroup().addTo(this.map);
    this.sectorLayer = L.layerGroup().addTo(this.map);
    this.drawLayer = L.layerGroup().addTo(this.map);
    this.drawPoints = [];
    this.drawClosed = false;
    this.drawClick = null;
    if (options.onPick) {
      this.map.on("click", e => options.onPick(+e.latlng.lat.toFixed(6), +e.latlng.lng.toFixed(6)));
      el.style.cursor = "crosshair";
    }
    this.fitted = false;
  }
  /* The street map of `siaga map import`. If its scripts cannot load, the built-in basemap stays alone. */
  async loadStreets(vector) {
    try {
      for (const src of STREETS_SCRIPTS) await loadScript(src);
    } catch (err) { return; }
    this.streets = window.SiagaStreets.layer(Object.assign({}, vector, {attributionHtml: OSM_ATTRIBUTION}));
    this.streets.addTo(this.map);
  }
  async loadBasemap() {
    // The site's own outlines from its official boundaries (any site): desa and neighbouring kabupaten as
    // land, the kecamatan and the regency's outline as lines, the desa outlines close up.
    const outlines = await getJSON(REF.map.outlines);
    if (outlines) this.drawOutlines(outlines);
    // The shipped site's hand-made coastline and rivers (GSHHG), under the outlines, when the site has one.
    const extras = REF.map.extras ? await getJSON(REF.map.extras) : null;
    if (extras) {
      L.geoJSON(extras, {
        interactive: false, renderer: this.landRenderer,
        filter: f => ["land", "coastline", "river"].includes((f.properties || {}).kind),
        style: f => {
          const kind = (f.properties || {}).kind;
          if (kind === "land") return {stroke: false, fillColor: "#f3f0e2", fillOpacity: 1};
          if (kind === "coastline") return {color: "#7d8b5a", weight: 1};
          return {color: "#7fb2d9", weight: 1.5};
        },
      }).addTo(this.map);
      const attribution = (extras.attribution || (extras.properties || {}).attribution || "");
      if (attribution) this.map.attributionControl.addAttribution(esc(attribution));
    }
    for (const r of REF.regions) {
      if (r.level !== "kecamatan" || r.lat == null) continue;
      L.marker([r.lat, r.lon], {interactive: false, keyboard: false,
        icon: L.divIcon({className: "kec-label", html: esc(r.name), iconSize: null})}).addTo(this.map);
    }
  }
  drawOutlines(data) {
    const kind = f => (f.properties || {}).kind;
    L.geoJSON(data, {interactive: false, renderer: this.landRenderer,
      filter: f => kind(f) === "desa" || kind(f) === "neighbour",
      style: () => ({stroke: false, fillColor: "#f3f0e2", fillOpacity: 1})}).addTo(this.map);
    const lines = L.geoJSON(data, {interactive: false,
      filter: f => kind(f) === "regency_boundary" || kind(f) === "kecamatan",
      style: f => kind(f) === "regency_boundary"
        ? {color: "#7b1fa2", weight: 2, dashArray: "6 4", fill: false}
        : {color: "#9e9e9e", weight: 1, dashArray: "2 4", fill: false}});
    lines.addTo(this.map);
    lines.bringToBack();
    // Drawn thin from zoom 11, where they help and do not clutter; not interactive, so a click always
    // reaches the map.
    const desa = L.geoJSON(data, {interactive: false, filter: f => kind(f) === "desa",
      style: () => ({color: "#8d6e63", weight: 0.8, opacity: 0.8, dashArray: "1 3", fill: false})});
    const show = () => {
      if (this.map.getZoom() >= 11) { if (!this.map.hasLayer(desa)) desa.addTo(this.map); }
      else if (this.map.hasLayer(desa)) desa.remove();
    };
    this.map.on("zoomend", show);
    show();
    this.map.attributionControl.addAttribution("Batas wilayah: wilayah_boundaries © Cahya DSN (MIT)");
  }
  /* Markers are kept per id and only rebuilt when what they show changed: a board with hundreds of
     incidents and units redraws in a few milliseconds per event instead of rebuilding every marker. */
  sync(layer, cache, list, signature, build) {
    const seen = new Set();
    for (const item of list) {
      const sig = signature(item);
      if (sig === null) continue;
      seen.add(item.id);
      const old = cache.get(item.id);
      if (old && old.sig === sig) continue;
      if (old) layer.removeLayer(old.marker);
      const marker = build(item);
      marker.addTo(layer);
      cache.set(item.id, {sig, marker});
    }
    for (const [id, old] of cache) {
      if (!seen.has(id)) { layer.removeLayer(old.marker); cache.delete(id); }
    }
  }
  setIncidents(list, onClick) {
    this.incidentMarkers = this.incidentMarkers || new Map();
    this.sync(this.incidentLayer, this.incidentMarkers, list,
      i => (i.lat == null || i.lon == null) ? null : [i.lat, i.lon, i.priority, i.number, i.category_code].join("|"),
      i => {
        const m = L.circleMarker([i.lat, i.lon], {radius: 9, color: "#fff", weight: 2,
          fillColor: PRIORITY_COLOURS[i.priority] || "#333", fillOpacity: 0.95});
        m.bindTooltip(`${esc(i.number)} · ${esc(Siaga.categoryName(i.category_code))} · P${i.priority}`);
        if (onClick) m.on("click", () => onClick(i));
        return m;
      });
  }
  setUnits(list) {
    this.unitMarkers = this.unitMarkers || new Map();
    this.sync(this.unitLayer, this.unitMarkers, list,
      u => (u.lat == null || u.lon == null) ? null : [u.lat, u.lon, u.status, u.callsign].join("|"),
      u => {
        const m = L.marker([u.lat, u.lon], {keyboard: false, icon: L.divIcon({className: "unit-icon",
          html: `<span style="background:${UNIT_COLOURS[u.status] || "#333"}">${esc(u.callsign)}</span>`,
          iconSize: null})}).bindTooltip(`${esc(u.callsign)} · ${esc(Siaga.unitStatus(u))}`);
        m.unit = u;
        return m;
      });
    if (!this.declutterBound) {
      this.declutterBound = true;
      this.map.on("zoomend", () => this.declutterUnits());
    }
    this.declutterUnits();
  }
  /* Unit labels never pile up: at this zoom, a label that would overlap one already placed (units at work
     placed first, then by callsign) folds into it — it stays on the map as a dot in its status colour, and
     the label shown says "+N" and names them all in its tooltip. Zooming in unfolds them. */
  declutterUnits() {
    if (!this.unitMarkers) return;
    const rank = {on_scene: 0, en_route: 1, assigned: 2, returning: 3, available: 4, out_of_service: 5};
    const entries = [...this.unitMarkers.values()].filter(e => e.marker.getElement());
    for (const e of entries) {
      const label = e.marker.getElement().firstElementChild;
      if (e.w == null && label && !e.marker.getElement().classList.contains("unit-folded")) {
        e.w = label.offsetWidth; e.h = label.offsetHeight;
      }
      e.at = this.map.latLngToLayerPoint(e.marker.getLatLng());
    }
    entries.sort((a, b) => ((rank[a.marker.unit.status] ?? 9) - (rank[b.marker.unit.status] ?? 9)) ||
      a.marker.unit.callsign.localeCompare(b.marker.unit.callsign));
    const MORE = 24;  // room for the "+N" a label may get
    const placed = [];
    for (const e of entries) {
      const w = (e.w || 60) + MORE, h = e.h || 14;
      const box = [e.at.x, e.at.y, e.at.x + w, e.at.y + h];
      const host = placed.find(p => box[0] < p.box[2] && p.box[0] < box[2] && box[1] < p.box[3] && p.box[1] < box[3]);
      if (host) host.folded.push(e); else placed.push({e, box, folded: []});
      e.marker.getElement().classList.toggle("unit-folded", !!host);
      e.marker.setZIndexOffset(host ? -1000 : 0);
    }
    for (const p of placed) {
      const label = p.e.marker.getElement().firstElementChild;
      if (p.folded.length) label.dataset.more = "+" + p.folded.length; else delete label.dataset.more;
      p.e.marker.setTooltipContent([p.e].concat(p.folded)
        .map(x => `${esc(x.marker.unit.callsign)} · ${esc(Siaga.unitStatus(x.marker.unit))}`).join("<br>"));
    }
    for (const p of placed) for (const f of p.folded) {
      f.marker.setTooltipContent(`${esc(f.marker.unit.callsign)} · ${esc(Siaga.unitStatus(f.marker.unit))}`);
      delete f.marker.getElement().firstElementChild.dataset.more;
    }
  }
  setCaller(locations) {
    this.callerLayer.clearLayers();
    for (const loc of locations || []) {
      if (!loc.valid || loc.lat == null || loc.lon == null) continue;
      const ll = [loc.lat, loc.lon];
      if (loc.accuracy_m) L.circle(ll, {radius: loc.accuracy_m, color: "#0d47a1", weight: 1,
        fillOpacity: 0.12}).addTo(this.callerLayer);
      L.circleMarker(ll, {radius: 6, color: "#0d47a1", fillColor: "#42a5f5", fillOpacity: 1})
        .bindTooltip(W.caller_location + (loc.accuracy_m ? ` (± ${Math.round(loc.accuracy_m)} m)` : ""))
        .addTo(this.callerLayer);
    }
  }
  setPick(lat, lon, label) {
    this.pickLayer.clearLayers();
    if (lat == null || lon == null) return;
    L.marker([lat, lon]).bindTooltip(esc(label || W.location)).addTo(this.pickLayer);
  }
  /* Search sectors as polygons coloured by status (open: dashed), each named on the map. Not clickable,
     so that clicks while drawing a new sector always reach the map. */
  setSectors(list) {
    this.sectorShapes = this.sectorShapes || new Map();
    this.sync(this.sectorLayer, this.sectorShapes, list,
      s => [s.version, s.status, s.name].join("|"),
      s => {
        const colour = SECTOR_COLOURS[s.status] || "#333";
        return L.polygon(s.polygon, {color: colour, weight: 2, fillColor: colour, fillOpacity: 0.15,
          dashArray: s.status === "open" ? "6 4" : null, interactive: false})
          .bindTooltip(esc(s.name), {permanent: true, direction: "center", className: "kec-label"});
      });
  }
  /* Drawing a sector: each click (or tap) on the map adds a corner; closeDrawing() closes the outline
     once it has 3 corners. onChange(points, closed) hears every change. */
  startDrawing(onChange) {
    this.stopDrawing();
    this.onDrawChange = onChange;
    this.drawClick = e => {
      if (this.drawClosed) return;
      const p = [+e.latlng.lat.toFixed(6), +e.latlng.lng.toFixed(6)];
      const last = this.drawPoints[this.drawPoints.length - 1];
      if (last && last[0] === p[0] && last[1] === p[1]) return;  // a double click is one corner
      this.drawPoints.push(p);
      this.redrawDraft();
    };
    this.map.on("click", this.drawClick);
    this.map.doubleClickZoom.disable();
    this.map.getContainer().style.cursor = "crosshair";
    this.redrawDraft();
  }
  undoPoint() {
    if (this.drawClosed) this.drawClosed = false; else this.drawPoints.pop();
    this.redrawDraft();
  }
  closeDrawing() {
    if (this.drawPoints.length >= 3) { this.drawClosed = true; this.redrawDraft(); }
    return this.drawClosed;
  }
  stopDrawing() {
    if (this.drawClick) this.map.off("click", this.drawClick);
    this.drawClick = null;
    this.onDrawChange = null;
    this.drawPoints = [];
    this.drawClosed = false;
    this.drawLayer.clearLayers();
    this.map.doubleClickZoom.enable();
    this.map.getContainer().style.cursor = "";
  }
  redrawDraft() {
    this.drawLayer.clearLayers();
    const pts = this.drawPoints;
    const style = {color: "#212121", weight: 2, dashArray: "4 4", interactive: false};
    if (this.drawClosed) L.polygon(pts, Object.assign({fillOpacity: 0.1}, style)).addTo(this.drawLayer);
    else if (pts.length > 1) L.polyline(pts, style).addTo(this.drawLayer);
    for (const p of pts) {
      L.circleMarker(p, {radius: 4, color: "#212121", weight: 1, fillColor: "#fff", fillOpacity: 1,
        interactive: false}).addTo(this.drawLayer);
    }
    if (this.onDrawChange) this.onDrawChange(pts.map(p => p.slice()), this.drawClosed);
  }
  focus(lat, lon, zoom) { if (lat != null && lon != null) this.map.setView([lat, lon], zoom || 13); }
  fitTo(points) {
    const pts = points.filter(p => p[0] != null && p[1] != null);
    if (pts.length === 1) this.map.setView(pts[0], 13);
    else if (pts.length > 1) this.map.fitBounds(pts, {padding: [30, 30], maxZoom: 14});
  }
  invalidate() { setTimeout(() => this.map.invalidateSize(), 50); }
}
window.SiagaMap = SiagaMap;
window.SECTOR_COLOURS = SECTOR_COLOURS;
window.esc = esc;
