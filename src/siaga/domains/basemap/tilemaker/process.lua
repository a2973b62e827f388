-- Siaga 112 street basemap: what tilemaker 2.2 writes into each vector tile layer (see config.json).
-- Names are the `name` tag, as they are on the ground, never a translation. The layer schema is the one
-- src/siaga/web/static/js/streets.js draws; the `pois` layer uses the patokan rules of
-- src/siaga/domains/basemap/pois.py, put in place of the line below when `siaga map import` runs.
-- @POI_RULES@

node_keys = {"place", "amenity", "healthcare", "office", "harbour", "landuse", "industrial", "man_made", "shop"}

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local PLACE_MINZOOM = {city = 6, town = 8, village = 10, suburb = 11, island = 9, hamlet = 12,
                       isolated_dwelling = 13, neighbourhood = 13, quarter = 13, islet = 12}
local ROAD = {
  motorway = {"highway", 5}, motorway_link = {"highway", 9}, trunk = {"highway", 5}, trunk_link = {"highway", 9},
  primary = {"primary", 7}, primary_link = {"primary", 10}, secondary = {"secondary", 9},
  secondary_link = {"secondary", 11}, tertiary = {"tertiary", 10}, tertiary_link = {"tertiary", 12},
  unclassified = {"minor", 12}, residential = {"minor", 12}, living_street = {"minor", 12}, road = {"minor", 12},
  service = {"service", 13}, track = {"service", 13},
  pedestrian = {"path", 14}, footway = {"path", 14}, path = {"path", 14}, cycleway = {"path", 14},
  steps = {"path", 14}, bridleway = {"path", 14},
}
local WATERWAY = {river = 9, canal = 10, stream = 13, drain = 13, ditch = 14}
local LANDUSE = {
  residential = "residential", commercial = "commercial", retail = "commercial", industrial = "industrial",
  farmland = "farmland", farmyard = "farmland", orchard = "farmland", plantation = "farmland",
  meadow = "farmland", forest = "forest", cemetery = "cemetery", military = "military",
  grass = "park", recreation_ground = "park", village_green = "park",
}
local NATURAL = {wood = "forest", scrub = "scrub", grassland = "scrub", heath = "scrub", wetland = "wetland",
                 beach = "beach", sand = "beach"}
local LEISURE = {park = "park", garden = "park", playground = "park", pitch = "park", stadium = "park",
                 golf_course = "park"}
local WATER_AREA = set({"reservoir", "basin"})

local function poi_kind(obj)
  for _, rule in ipairs(POI_RULES) do
    local value = obj:Find(rule[1])
    if value ~= "" and rule[2][value] then
      if rule[3] == "place_of_worship" then
        return RELIGION_KIND[obj:Find("religion")] or "place_of_worship"
      end
      return rule[3]
    end
  end
  if obj:Find("bridge:name") ~= "" and obj:Find("bridge") ~= "" and obj:Find("bridge") ~= "no" then
    return "bridge"
  end
  return nil
end

local function poi_name(obj, kind)
  local name = obj:Find("name")
  if name == "" and kind == "bridge" then name = obj:Find("bridge:name") end
  return name
end

function node_function(node)
  local place = node:Find("place")
  if PLACE_MINZOOM[place] and node:Find("name") ~= "" then
    node:Layer("places", false)
    node:Attribute("kind", place)
    node:Attribute("name", node:Find("name"))
    node:MinZoom(PLACE_MINZOOM[place])
  end
  local kind = poi_kind(node)
  if kind then
    local name = poi_name(node, kind)
    if name ~= "" then
      node:Layer("pois", false)
      node:Attribute("kind", kind)
      node:Attribute("name", name)
    end
  end
end

function way_function(way)
  local highway = way:Find("highway")
  local natural = way:Find("natural")
  local landuse = way:Find("landuse")
  local waterway = way:Find("waterway")
  local closed = way:IsClosed()
  local area = way:Find("area") == "yes"

  if natural == "coastline" then
    way:Layer("coastline", false)
  end
  -- Lines: roads, ferries, railways, waterways.
  local road = ROAD[highway]
  if road and not area then
    way:Layer("roads", false)
    way:Attribute("kind", road[1])
    way:MinZoom(road[2])
    if way:Find("name") ~= "" then way:Attribute("name", way:Find("name")) end
    if way:Find("ref") ~= "" then way:Attribute("ref", way:Find("ref")) end
    if way:Find("bridge") ~= "" and way:Find("bridge") ~= "no" then way:AttributeNumeric("bridge", 1) end
  elseif way:Find("route") == "ferry" then
    way:Layer("roads", false)
    way:Attribute("kind", "ferry")
    way:MinZoom(7)
    if way:Find("name") ~= "" then way:Attribute("name", way:Find("name")) end
  elseif way:Find("railway") == "rail" then
    way:Layer("roads", false)
    way:Attribute("kind", "rail")
    way:MinZoom(10)
  end
  if WATERWAY[waterway] and not closed then
    way:Layer("waterway", false)
    way:Attribute("kind", waterway)
    way:MinZoom(WATERWAY[waterway])
    if way:Find("name") ~= "" then way:Attribute("name", way:Find("name")) end
  end
  -- Areas: water, land use, buildings.
  if closed or way:Find("type") == "multipolygon" then
    if natural == "water" or waterway == "riverbank" or waterway == "dock" or WATER_AREA[landuse] then
      way:Layer("water", true)
      if way:Find("name") ~= "" then way:Attribute("name", way:Find("name")) end
    else
      local kind = LANDUSE[landuse] or NATURAL[natural] or LEISURE[way:Find("leisure")]
      if way:Find("amenity") == "grave_yard" then kind = "cemetery" end
      if natural == "wetland" and way:Find("wetland") == "mangrove" then kind = "mangrove" end
      if kind then
        way:Layer("landuse", true)
        way:Attribute("kind", kind)
      end
    end
    local building = way:Find("building")
    if building ~= "" and building ~= "no" then
      way:Layer("buildings", true)
    end
  end
  local place = way:Find("place")
  if (place == "island" or place == "islet") and way:Find("name") ~= "" then
    way:LayerAsCentroid("places")
    way:Attribute("kind", place)
    way:Attribute("name", way:Find("name"))
    way:MinZoom(PLACE_MINZOOM[place])
  end
  local kind = poi_kind(way)
  if kind then
    local name = poi_name(way, kind)
    if name ~= "" then
      way:LayerAsCentroid("pois")
      way:Attribute("kind", kind)
      way:Attribute("name", name)
    end
  end
end
