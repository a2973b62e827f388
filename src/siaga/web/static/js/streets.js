/* How the street basemap is drawn: paint and label rules for protomaps-leaflet over the vector tiles that
   `siaga map import` writes (layers and `kind` values of src/siaga/domains/basemap/tilemaker/process.lua).
   Loaded after protomaps-leaflet.js, only when the site has an archive (map.js). Labels are the `name`
   tag, as written on the ground. No fonts or sprites are fetched: the browser's sans-serif draws them. */
"use strict";

(function () {
  const P = window.protomapsL;
  const kind = f => (f && f.props && f.props.kind) || "";
  const is = (...kinds) => (z, f) => kinds.includes(kind(f));
  const LAND = {residential: "#ece7e0", commercial: "#f2dedb", industrial: "#e6dfec", farmland: "#eef0d5",
    forest: "#cfe3c1", scrub: "#dfe8c8", wetland: "#d5e9e3", mangrove: "#bcdcc8", park: "#d2ebc2",
    cemetery: "#d5e1cd", beach: "#f6edc4", military: "#f1dfdf"};
  const ROADS = [  // drawn bottom to top: [kind, fill colour, casing colour, width stops [zoom, px]]
    ["service", "#ffffff", "#c9c1b8", [[13, 0.8], [16, 4], [18, 8]]],
    ["minor", "#ffffff", "#c2b9ae", [[12, 0.8], [14, 2.5], [16, 7], [18, 14]]],
    ["tertiary", "#ffffff", "#b3a898", [[10, 0.8], [13, 2.5], [16, 9], [18, 16]]],
    ["secondary", "#f7fabf", "#a8a570", [[9, 1], [13, 3.5], [16, 10], [18, 18]]],
    ["primary", "#fcd6a4", "#b98f58", [[7, 1], [12, 3.5], [16, 11], [18, 20]]],
    ["highway", "#e892a2", "#b35f70", [[5, 1], [12, 4], [16, 12], [18, 22]]],
  ];
  const width = stops => P.exp(1.6, stops);
  const casing = stops => P.exp(1.6, stops.map(([z, w]) => [z, w + (z >= 13 ? 2 : 0.6)]));

  function paintRules() {
    const rules = [
      {dataLayer: "landuse", symbolizer: new P.PolygonSymbolizer({fill: (z, f) => LAND[kind(f)] || "#ece7e0"})},
      {dataLayer: "water", symbolizer: new P.PolygonSymbolizer({fill: "#aad3df"})},
      {dataLayer: "waterway", symbolizer: new P.LineSymbolizer({color: "#8fc1de",
        width: (z, f) => (is("river", "canal")(z, f) ? P.exp(1.6, [[9, 0.8], [14, 3], [18, 10]])(z) : 1)})},
      {dataLayer: "coastline", symbolizer: new P.LineSymbolizer({color: "#7d8b5a", width: 1})},
      {dataLayer: "buildings", symbolizer: new P.PolygonSymbolizer({fill: "#d9d0c9", stroke: "#c4b6ab",
        width: 0.5})},
      {dataLayer: "roads", filter: is("path"), symbolizer: new P.LineSymbolizer({color: "#e07a6d", width: 1,
        dash: [3, 2], dashColor: "#e07a6d", dashWidth: 1})},
      {dataLayer: "roads", filter: is("rail"), symbolizer: new P.LineSymbolizer({color: "#8a8a8a", width: 2})},
      {dataLayer: "roads", filter: is("ferry"), symbolizer: new P.LineSymbolizer({color: "#4a7bb7", width: 1.5,
        dash: [6, 4], dashColor: "#4a7bb7", dashWidth: 1.5})},
    ];
    for (const [k, , edge, stops] of ROADS) {
      rules.push({dataLayer: "roads", filter: is(k), symbolizer: new P.LineSymbolizer({color: edge,
        width: casing(stops), lineCap: "round", lineJoin: "round"})});
    }
    for (const [k, fill, , stops] of ROADS) {
      rules.push({dataLayer: "roads", filter: is(k), symbolizer: new P.LineSymbolizer({color: fill,
        width: width(stops), lineCap: "round", lineJoin: "round"})});
    }
    rules.push({dataLayer: "pois", minzoom: 15, symbolizer: new P.CircleSymbolizer({radius: 3, fill: "#7a5c8e",
      stroke: "#ffffff", width: 1})});
    return rules;
  }

  const halo = {stroke: "#ffffff", width: 2.5};
  function labelRules() {
    return [
      {dataLayer: "places", filter: is("city", "town"), symbolizer: new P.CenteredTextSymbolizer(Object.assign({
        fontFamily: "sans-serif", fontWeight: 700, fontSize: (z) => (z < 10 ? 13 : 16), fill: "#333"}, halo))},
      {dataLayer: "places", filter: is("village", "suburb", "island"), symbolizer: new P.CenteredTextSymbolizer(
        Object.assign({fontFamily: "sans-serif", fontWeight: 600, fontSize: 13, fill: "#444"}, halo))},
      {dataLayer: "places", filter: is("hamlet", "isolated_dwelling", "neighbourhood", "quarter", "islet"),
        symbolizer: new P.CenteredTextSymbolizer(Object.assign({fontFamily: "sans-serif", fontSize: 12,
          fill: "#555"}, halo))},
      {dataLayer: "roads", minzoom: 14, filter: (z, f) => !is("ferry", "rail", "path")(z, f),
        symbolizer: new P.LineLabelSymbolizer(Object.assign({fontFamily: "sans-serif", fontSize: 12,
          fill: "#333", labelProps: ["name", "ref"]}, halo))},
      {dataLayer: "roads", minzoom: 11, filter: is("ferry"), symbolizer: new P.LineLabelSymbolizer(
        Object.assign({fontFamily: "sans-serif", fontStyle: "italic", fontSize: 12, fill: "#2f5f9e"}, halo))},
      {dataLayer: "waterway", minzoom: 13, filter: is("river", "canal"), symbolizer: new P.LineLabelSymbolizer(
        Object.assign({fontFamily: "sans-serif", fontStyle: "italic", fontSize: 12, fill: "#3a6f98"}, halo))},
      {dataLayer: "pois", minzoom: 15, symbolizer: new P.OffsetTextSymbolizer(Object.assign({
        fontFamily: "sans-serif", fontSize: 11, fill: "#5b3f70", offsetX: 5, offsetY: 4}, halo))},
    ];
  }

  window.SiagaStreets = {
    /* A Leaflet layer drawing the archive at `vector.url` under the consoles' markers. */
    layer(vector) {
      return P.leafletLayer({url: vector.url, maxDataZoom: vector.max_zoom, paintRules: paintRules(),
        labelRules: labelRules(), bounds: vector.bounds, attribution: vector.attributionHtml, maxZoom: 19});
    },
  };
})();
