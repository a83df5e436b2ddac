"""Static household facts: what exists where, what may hold what, what can be done to what.

Written from the facts in ALFWorld's `alfworld/gen/constants.py` (GOALS_VALID,
VAL_RECEPTACLE_OBJECTS, VAL_ACTION_OBJECTS, OPENABLE_CLASS_LIST), lowercased as ALFWorld's text
engine prints names.
Slicing and receptacle-objects (a fork in a mug, a mug carried with it) are left out: the six
task types never need them.
"""

from __future__ import annotations

ROOMS: tuple[str, ...] = ("kitchen", "livingroom", "bedroom", "bathroom")

TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)

# Which task types ALFWorld generates in which kind of room.
GOALS_VALID: dict[str, tuple[str, ...]] = {
    "pick_and_place_simple": ROOMS,
    "pick_two_obj_and_place": ROOMS,
    "look_at_obj_in_light": ("livingroom", "bedroom"),
    "pick_clean_then_place_in_recep": ("kitchen", "bathroom"),
    "pick_heat_then_place_in_recep": ("kitchen",),
    "pick_cool_then_place_in_recep": ("kitchen",),
}

# Task counts per split, as in ALFWorld's released train / valid_seen / valid_unseen sets.
SPLIT_TYPE_COUNTS: dict[str, dict[str, int]] = {
    "train": dict(zip(TASK_TYPES, (790, 308, 650, 459, 533, 813), strict=True)),
    "valid_seen": dict(zip(TASK_TYPES, (35, 13, 27, 16, 25, 24), strict=True)),
    "valid_unseen": dict(zip(TASK_TYPES, (24, 18, 31, 23, 21, 17), strict=True)),
}

OPENABLE: frozenset[str] = frozenset({"fridge", "cabinet", "microwave", "drawer", "safe", "box"})
TOGGLEABLE: frozenset[str] = frozenset({"desklamp", "floorlamp"})


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _words(words: str) -> tuple[str, ...]:
    return tuple(words.split())


HEATABLE = _set("apple bread cup egg mug plate potato tomato")
COOLABLE = _set("apple bowl bread cup egg lettuce mug pan plate pot potato tomato winebottle")
CLEANABLE = _set(
    "apple bowl butterknife cloth cup dishsponge egg fork kettle knife ladle lettuce mug pan "
    "plate pot potato soapbar spatula spoon tomato"
)

# The transformation verb of each task type and the one appliance kind that performs it.
TRANSFORM: dict[str, tuple[str, str]] = {
    "pick_clean_then_place_in_recep": ("clean", "sinkbasin"),
    "pick_heat_then_place_in_recep": ("heat", "microwave"),
    "pick_cool_then_place_in_recep": ("cool", "fridge"),
}
VERB_APPLIANCE: dict[str, str] = {verb: app for verb, app in TRANSFORM.values()}
VERB_ABLE: dict[str, frozenset[str]] = {"clean": CLEANABLE, "heat": HEATABLE, "cool": COOLABLE}

# Tables (countertop, diningtable, coffeetable, sidetable) hold the same kinds; so do seats.
_TABLETOP = _set(
    "alarmclock apple baseballbat basketball book bowl box bread butterknife candle cd "
    "cellphone cloth creditcard cup dishsponge egg fork glassbottle handtowel kettle "
    "keychain knife ladle laptop lettuce mug newspaper pan papertowel pen pencil "
    "peppershaker plate pot potato remotecontrol saltshaker soapbar soapbottle spatula "
    "spoon spraybottle statue tennisracket tissuebox toiletpaper toiletpaperroll tomato "
    "vase watch wateringcan winebottle"
)
_SEAT = _set(
    "basketball book box cellphone cloth creditcard keychain laptop newspaper pillow remotecontrol"
)

# What each receptacle kind may hold (the canContain facts of ALFWorld's scenes).
CAN_HOLD: dict[str, frozenset[str]] = {
    "armchair": _SEAT,
    "bathtubbasin": _set("cloth dishsponge handtowel soapbar"),
    "bed": _set("baseballbat basketball book cellphone laptop newspaper pillow tennisracket"),
    "cabinet": _set(
        "book bowl box candle cd cloth cup dishsponge glassbottle handtowel kettle ladle "
        "mug newspaper pan peppershaker plate plunger pot saltshaker soapbar soapbottle "
        "spraybottle tissuebox toiletpaper toiletpaperroll vase wateringcan winebottle"
    ),
    "cart": _set(
        "candle cloth dishsponge handtowel mug papertowel plunger soapbar soapbottle "
        "spraybottle statue tissuebox toiletpaper toiletpaperroll vase"
    ),
    "coffeemachine": _set("mug"),
    "coffeetable": _TABLETOP,
    "countertop": _TABLETOP,
    "desk": _set(
        "alarmclock basketball book bowl box candle cd cellphone cloth creditcard cup "
        "glassbottle keychain laptop mug newspaper pen pencil plate remotecontrol "
        "soapbottle spraybottle statue tennisracket tissuebox toiletpaper toiletpaperroll "
        "vase watch wateringcan winebottle"
    ),
    "diningtable": _TABLETOP,
    "drawer": _set(
        "book butterknife candle cd cellphone cloth creditcard dishsponge fork handtowel "
        "keychain knife ladle newspaper pen pencil peppershaker remotecontrol saltshaker "
        "soapbar soapbottle spatula spoon spraybottle tissuebox toiletpaper toiletpaperroll "
        "watch wateringcan"
    ),
    "dresser": _set(
        "alarmclock basketball book bowl box candle cd cellphone cloth creditcard cup "
        "glassbottle keychain laptop mug newspaper pen pencil plate remotecontrol "
        "spraybottle statue tennisracket tissuebox toiletpaper toiletpaperroll vase watch "
        "wateringcan winebottle"
    ),
    "fridge": _set(
        "apple bowl bread cup egg glassbottle lettuce mug pan plate pot potato tomato winebottle"
    ),
    "garbagecan": _set(
        "apple bread cd cloth dishsponge egg handtowel lettuce newspaper papertowel pen "
        "pencil potato soapbar soapbottle spraybottle tissuebox toiletpaper toiletpaperroll "
        "tomato winebottle"
    ),
    "handtowelholder": _set("handtowel"),
    "laundryhamper": _set("cloth"),
    "microwave": _set("apple bowl bread cup egg glassbottle mug plate potato tomato"),
    "ottoman": _SEAT,
    "safe": _set("cd cellphone creditcard keychain statue vase watch"),
    "shelf": _set(
        "alarmclock book bowl box candle cd cellphone cloth creditcard cup dishsponge "
        "glassbottle handtowel kettle keychain mug newspaper papertowel pen pencil "
        "peppershaker plate pot remotecontrol saltshaker soapbar soapbottle spraybottle "
        "statue tissuebox toiletpaper toiletpaperroll vase watch wateringcan winebottle"
    ),
    "sidetable": _TABLETOP,
    "sinkbasin": _set(
        "apple bowl butterknife cloth cup dishsponge egg fork glassbottle handtowel kettle "
        "knife ladle lettuce mug pan plate pot potato soapbar spatula spoon tomato"
    ),
    "sofa": _SEAT,
    "stoveburner": _set("kettle pan pot"),
    "toaster": frozenset(),  # holds only sliced bread, which this world does not model
    "toilet": _set(
        "candle cloth dishsponge handtowel newspaper papertowel soapbar soapbottle "
        "spraybottle tissuebox toiletpaper toiletpaperroll"
    ),
    "toiletpaperhanger": _set("toiletpaper toiletpaperroll"),
    "towelholder": _set("towel"),
    "tvstand": _set("tissuebox"),
}

# Receptacle kinds per room: (kind, min count, max count, chance the kind is present at all).
ROOM_RECEPTACLES: dict[str, tuple[tuple[str, int, int, float], ...]] = {
    "kitchen": (
        ("cabinet", 4, 13, 1.0), ("drawer", 1, 7, 1.0), ("countertop", 1, 3, 1.0),
        ("fridge", 1, 1, 1.0), ("microwave", 1, 1, 1.0), ("sinkbasin", 1, 1, 1.0),
        ("stoveburner", 2, 4, 1.0), ("coffeemachine", 1, 1, 1.0), ("toaster", 1, 1, 1.0),
        ("garbagecan", 1, 1, 1.0), ("diningtable", 1, 1, 0.6), ("shelf", 1, 3, 0.3),
    ),
    "livingroom": (
        ("sofa", 1, 1, 1.0), ("armchair", 1, 2, 0.6), ("coffeetable", 1, 1, 0.7),
        ("sidetable", 1, 3, 1.0), ("diningtable", 1, 1, 0.4), ("drawer", 1, 8, 0.6),
        ("cabinet", 1, 4, 0.4), ("shelf", 1, 5, 0.5), ("tvstand", 1, 1, 0.7),
        ("dresser", 1, 1, 0.3), ("garbagecan", 1, 1, 1.0), ("safe", 1, 1, 0.2),
        ("ottoman", 1, 1, 0.2),
    ),
    "bedroom": (
        ("bed", 1, 1, 1.0), ("desk", 1, 2, 0.6), ("sidetable", 1, 2, 1.0), ("dresser", 1, 1, 0.6),
        ("drawer", 2, 10, 1.0), ("shelf", 1, 6, 0.6), ("garbagecan", 1, 1, 1.0),
        ("safe", 1, 1, 0.3), ("armchair", 1, 1, 0.3), ("laundryhamper", 1, 1, 0.3),
    ),
    "bathroom": (
        ("toilet", 1, 1, 1.0), ("sinkbasin", 1, 2, 1.0), ("bathtubbasin", 1, 1, 0.7),
        ("towelholder", 1, 2, 1.0), ("handtowelholder", 1, 1, 0.7),
        ("toiletpaperhanger", 1, 1, 1.0), ("cabinet", 1, 4, 1.0), ("countertop", 1, 1, 1.0),
        ("drawer", 1, 4, 0.5), ("garbagecan", 1, 1, 1.0), ("shelf", 1, 3, 0.3),
        ("dresser", 1, 1, 0.2), ("cart", 1, 1, 0.3),
    ),
}  # fmt: skip

# Portable object kinds that appear in each room.
ROOM_OBJECTS: dict[str, tuple[str, ...]] = {
    "kitchen": _words(
        "apple bowl bread butterknife cellphone creditcard cup dishsponge egg fork glassbottle "
        "kettle knife ladle lettuce mug pan papertowel peppershaker plate pot potato saltshaker "
        "soapbottle spatula spoon tomato vase winebottle"
    ),
    "livingroom": _words(
        "book bowl box candle cellphone creditcard keychain laptop newspaper pillow plate "
        "remotecontrol statue tissuebox vase watch wateringcan"
    ),
    "bedroom": _words(
        "alarmclock baseballbat basketball book bowl cd cellphone cloth creditcard keychain "
        "laptop mug pen pencil pillow statue tennisracket tissuebox vase watch"
    ),
    "bathroom": _words(
        "candle cloth dishsponge handtowel papertowel plunger soapbar soapbottle spraybottle "
        "tissuebox toiletpaper toiletpaperroll towel"
    ),
}

# Object kinds only valid_unseen scenes contain (ALFWorld's unseen split has novel objects too).
UNSEEN_OBJECTS: frozenset[str] = _set("potato ladle statue cd spraybottle wateringcan")

# Lamps: the receptacle a lamp stands in (ALFWorld's `use` needs the lamp inReceptacle of one).
DESKLAMP_HOSTS: tuple[str, ...] = ("desk", "sidetable", "dresser")
FLOORLAMP_HOSTS: tuple[str, ...] = _words(
    "sidetable dresser desk armchair sofa bed shelf coffeetable ottoman"
)
# Receptacles that may share a navigation spot with a host kind (a cabinet under a countertop),
# as ALFWorld scenes place several receptacles at one location.
SHARED_SPOT: dict[str, tuple[str, ...]] = {
    "cabinet": ("countertop", "sinkbasin", "shelf"),
    "drawer": ("countertop", "desk", "dresser", "sidetable"),
    "shelf": ("cabinet",),
}
SHARE_CHANCE = 0.2
LAMP_ROOMS: frozenset[str] = frozenset({"livingroom", "bedroom"})

# Layout ids per room: ALFWorld keeps 24 floor plans per room type for training, 6 held out.
SEEN_LAYOUTS: tuple[int, ...] = tuple(range(24))
UNSEEN_LAYOUTS: tuple[int, ...] = tuple(range(24, 30))

# Skewed homes: where each kind usually is. Valid receptacles not listed get BASE_WEIGHT, so a place
# learned from experience is right most of the time but not always.
BASE_WEIGHT = 0.15
_HOMES_SPEC = """
apple: countertop 3, fridge 4, diningtable 2, garbagecan 1, sinkbasin 1
bowl: cabinet 4, countertop 2, fridge 1, shelf 2, diningtable 2, sidetable 1, coffeetable 1
bread: countertop 4, diningtable 3, fridge 1
butterknife: drawer 4, countertop 3, diningtable 2, sinkbasin 1
cellphone: bed 3, sidetable 3, desk 3, dresser 2, countertop 1, sofa 2, drawer 1
creditcard: sidetable 2, desk 2, dresser 2, drawer 2, countertop 1, sofa 1, armchair 1
cup: cabinet 3, countertop 2, fridge 2, microwave 1, sinkbasin 2, diningtable 1
dishsponge: sinkbasin 2, countertop 2, drawer 2, cabinet 1, cart 1, toilet 1, bathtubbasin 1
egg: fridge 4, countertop 2, diningtable 1, sinkbasin 1, microwave 1
fork: drawer 4, countertop 2, diningtable 2, sinkbasin 1
glassbottle: countertop 2, fridge 2, cabinet 1, diningtable 1
kettle: stoveburner 4, countertop 2, cabinet 2
knife: drawer 3, countertop 3, diningtable 2, sinkbasin 1
ladle: drawer 3, countertop 2, diningtable 2, sinkbasin 1
lettuce: fridge 4, countertop 2, diningtable 2
mug: cabinet 3, countertop 3, coffeemachine 4, sinkbasin 2, shelf 1, desk 1
pan: stoveburner 4, cabinet 2, countertop 1
peppershaker: countertop 2, cabinet 2, drawer 2, shelf 1, diningtable 1
plate: cabinet 4, countertop 2, diningtable 2, fridge 1, shelf 1, coffeetable 1
pot: stoveburner 4, cabinet 2, countertop 1, fridge 1
potato: fridge 3, countertop 3, diningtable 2, garbagecan 1, sinkbasin 1, microwave 1
saltshaker: countertop 2, cabinet 2, drawer 2, shelf 1, diningtable 1
soapbottle: countertop 3, cabinet 2, toilet 2, shelf 1, garbagecan 1
spatula: drawer 3, countertop 3, diningtable 2, sinkbasin 1
spoon: drawer 4, countertop 2, diningtable 2, sinkbasin 1
tomato: fridge 3, countertop 3, diningtable 2, sinkbasin 1, garbagecan 1
vase: shelf 3, sidetable 2, coffeetable 2, dresser 2, cabinet 1, safe 1
winebottle: countertop 2, fridge 2, diningtable 2, cabinet 1, shelf 1
book: bed 3, desk 3, sidetable 2, coffeetable 2, shelf 2, sofa 1, dresser 1
box: coffeetable 3, sofa 2, sidetable 2, dresser 2, armchair 1, shelf 1
candle: countertop 3, toilet 2, cabinet 2, shelf 1, sidetable 1, coffeetable 1, cart 1
keychain: sidetable 3, dresser 3, drawer 2, coffeetable 2, sofa 1, armchair 1, safe 1
laptop: bed 4, desk 3, sofa 2, coffeetable 1, armchair 1
newspaper: sofa 3, coffeetable 3, sidetable 2, armchair 2, ottoman 1
pillow: sofa 4, bed 3, armchair 2
remotecontrol: coffeetable 3, sofa 3, sidetable 2, armchair 2, dresser 1, drawer 1
statue: shelf 3, coffeetable 2, sidetable 2, dresser 2, desk 1
tissuebox: sidetable 2, coffeetable 2, dresser 2, toilet 2, countertop 1, shelf 1, tvstand 1
watch: sidetable 3, dresser 2, coffeetable 2, desk 2, drawer 1, safe 1
wateringcan: shelf 3, sidetable 2, dresser 2, cabinet 1
alarmclock: desk 4, sidetable 3, dresser 2, shelf 1
baseballbat: bed 3, sidetable 1
basketball: bed 3, desk 1, dresser 1, armchair 1
cd: desk 3, drawer 3, shelf 2, sidetable 2, safe 1
cloth: countertop 2, bathtubbasin 2, toilet 2, cabinet 2, drawer 1, dresser 1, laundryhamper 2
pen: desk 4, drawer 3, sidetable 2, shelf 1, dresser 1
pencil: desk 4, drawer 3, sidetable 2, shelf 1, dresser 1
tennisracket: bed 2, desk 2, dresser 1, sidetable 1
handtowel: handtowelholder 5, countertop 1, cabinet 1
plunger: cabinet 3, cart 1
soapbar: countertop 3, toilet 2, bathtubbasin 2, sinkbasin 2, cabinet 1
spraybottle: toilet 3, cabinet 3, countertop 2, garbagecan 1, cart 1
toiletpaper: toiletpaperhanger 4, toilet 2, cabinet 2, countertop 1, drawer 1, garbagecan 1
toiletpaperroll: toiletpaperhanger 3, cabinet 3, toilet 2, countertop 1, cart 1
papertowel: countertop 3, shelf 1, cart 1, garbagecan 1
towel: towelholder 5
"""


def _parse_homes(spec: str) -> dict[str, dict[str, float]]:
    homes: dict[str, dict[str, float]] = {}
    for line in spec.strip().splitlines():
        kind, _, rest = line.partition(": ")
        homes[kind] = {
            recep: float(weight)
            for recep, weight in (item.rsplit(" ", 1) for item in rest.split(", "))
        }
    return homes


HOMES: dict[str, dict[str, float]] = _parse_homes(_HOMES_SPEC)


def can_hold(recep_kind: str, obj_kind: str) -> bool:
    """True when a receptacle of this kind may hold an object of that kind."""
    return obj_kind in CAN_HOLD.get(recep_kind, frozenset())
