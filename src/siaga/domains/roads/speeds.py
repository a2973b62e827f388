"""Travel speeds as data: km/h per (vehicle profile, road class), and which unit type drives which profile.

Vehicle types with the same speeds share one profile, so one search serves all of them. The figures are
planning speeds for emergency driving on Riau's roads (lights and siren on the main roads, slow on
tracks); a site adjusts them here. A missing road class means the profile cannot use it. Ferry edges
use their own crossing speed and waiting time (stored per edge); a rescue boat uses ferry lanes and
water lanes at its own speed and does not wait for a departure."""

from __future__ import annotations

from siaga.domains.units.models import UNIT_TYPES

ROAD = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential", "service", "track")


def _road(*kmh: float) -> dict[str, float]:
    return dict(zip(ROAD, kmh, strict=True))


# km/h; "ferry": None means "the ferry's own speed, plus its waiting time".
SPEEDS_KMH: dict[str, dict[str, float | None]] = {
    # ambulances, patrol and command cars
    "car": {**_road(90, 75, 65, 55, 45, 35, 30, 20, 12), "ferry": None},
    # fire engines, tankers, rescue, tow and utility trucks
    "truck": {**_road(75, 60, 55, 45, 40, 30, 25, 15, 10), "ferry": None},
    "motorcycle": {**_road(85, 70, 60, 55, 45, 40, 35, 25, 20), "ferry": None},
    # rescue boats: water only, at boat speed on ferry lanes too, no waiting
    "boat": {"water": 35.0, "ferry": 35.0},
}

VEHICLE_PROFILE: dict[str, str] = {
    "ambulance": "car",
    "patrol_car": "car",
    "command_car": "car",
    "pumper": "truck",
    "water_tanker": "truck",
    "rescue_truck": "truck",
    "tow_truck": "truck",
    "utility_truck": "truck",
    "patrol_motorcycle": "motorcycle",
    "rescue_boat": "boat",
}
assert set(VEHICLE_PROFILE) == set(UNIT_TYPES), "every unit type needs a speed profile"

# Defaults for ferries whose OSM way says nothing better (a `duration` tag gives the speed).
FERRY_SPEED_KMH = 12.0
FERRY_WAIT_MIN = 30.0

# The off-road legs (unit to its road node, road node to the incident) at walking-pace driving.
OFFROAD_KMH = 15.0

# A point farther than this from every road its vehicle can use is reported, not routed.
MAX_SNAP_M = 5000.0
