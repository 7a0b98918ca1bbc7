"""Marketplace data in Magentic Marketplace's layout: read, check, write, generate, compile.

A data directory holds ``customers/*.yaml`` and ``businesses/*.yaml``, one
participant per file, with the fields of Magentic's
``marketplace/shared/models.py`` (``Customer``, ``Business``)::

    # customers/customer_0001.yaml
    id: customer_0001
    name: Alexander Okoro
    request: Please help me find ...
    menu_features: {Pineapple Salsa Pork Burrito: 11.99}   # item -> willingness to pay
    amenity_features: [Happy Hour]                           # required amenities

    # businesses/business_0001.yaml
    id: business_0001
    name: Citrus & Smoke
    description: ...
    rating: 1.0
    progenitor_customer: customer_0001
    menu_features: {Pineapple Salsa Pork Burrito: 4.6, ...} # item -> price
    amenity_features: {Happy Hour: true, ...}
    min_price_factor: 0.78

Bad files raise ``MarketDataError`` naming the file, the field and what is
allowed (missing fields, negative prices, duplicate ids, ...).

``generate(domain, customers, businesses, seed)`` makes a seeded synthetic
market of any size with Magentic's structure (Magentic's
``data_generation_scripts/generate_customers_and_businesses.py``): orders of
one, two or three items over a sliding window of a shuffled item list, each
customer's items carried by several businesses at prices drawn around the
item's mean, every one of them with the customer's required amenities except
the last, which lacks the first required amenity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from scipy import sparse

from simulator.errors import InvalidInput
from simulator.parsing import ScenarioError, parse_document, read_text


class MarketDataError(InvalidInput):
    """A data file is invalid: ``file``, ``field`` and ``message`` say where and why."""

    def __init__(self, file: str | Path, field: str, message: str) -> None:
        self.file, self.field, self.message = str(file), field, message
        super().__init__(f"{file}: {field}: {message}" if field else f"{file}: {message}")


class Customer(BaseModel):
    """A customer (Magentic ``Customer``): requested items with willingness to pay, required amenities."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["customer"] = "customer"
    id: str = Field(min_length=1)
    name: str
    request: str
    menu_features: dict[str, float] = Field(description="item name -> willingness to pay", min_length=1)
    amenity_features: list[str] = Field(default_factory=list, description="required amenities")

    @field_validator("menu_features")
    @classmethod
    def _non_negative(cls, menu: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in menu.items() if not v >= 0 or not math.isfinite(v)}
        if bad:
            raise ValueError(f"willingness to pay must be a finite number >= 0; got {bad}")
        return menu


class Business(BaseModel):
    """A business (Magentic ``Business``): menu with prices, amenities, rating, description."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["business"] = "business"
    id: str = Field(min_length=1)
    name: str
    description: str
    rating: float
    progenitor_customer: str = ""
    menu_features: dict[str, float] = Field(description="item name -> price")
    amenity_features: dict[str, bool] = Field(default_factory=dict, description="amenity -> available")
    min_price_factor: float = Field(1.0, ge=0, le=1)

    @field_validator("menu_features")
    @classmethod
    def _non_negative(cls, menu: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in menu.items() if not v >= 0 or not math.isfinite(v)}
        if bad:
            raise ValueError(f"prices must be finite numbers >= 0; got {bad}")
        return menu

    def searchable_text(self) -> str:
        """Name, description and item names (Magentic ``Business.get_searchable_text`` defaults)."""
        text = self.name.strip() + ", " + self.description.strip() + ", "
        return text + "".join(f"{item.strip()}, " for item in self.menu_features)


@dataclass
class MarketData:
    customers: list[Customer]
    businesses: list[Business]
    source: str = "<memory>"


# Every field of a generated participant is given, so each one's ``model_fields_set`` is all of its fields: one set
# shared by all of them (pydantic's own per-instance set of six or nine names is 728 bytes, 0.7 GB at 1,000,000
# customers; attribute assignment adds a field's name to it, which changes nothing when all are in it already).
_CUSTOMER_FIELDS = set(Customer.model_fields)
_BUSINESS_FIELDS = set(Business.model_fields)


# --------------------------------------------------------------------------- reading / writing


def _load_file(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        raw, _ = parse_document(read_text(path), str(path))  # the one parse path: bounded, UTF-8, unique keys
    except ScenarioError as exc:
        problem = exc.problems[0]
        where = f"{path}:{problem.line}:{problem.column}" if problem.line is not None else path
        raise MarketDataError(where, "", problem.message) from None
    if not isinstance(raw, dict):
        raise MarketDataError(path, "", f"expected a mapping of fields ({', '.join(model.model_fields)}), got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        message = "required field is missing" if error["type"] == "missing" else error["msg"]
        if error["type"] != "missing" and "input" in error and not isinstance(error["input"], (dict, list)):
            message += f" (got {error['input']!r})"
        raise MarketDataError(path, field, message) from None


def _load_folder(folder: Path, model: type[BaseModel]) -> list[Any]:
    if not folder.is_dir():
        raise MarketDataError(folder, "", f"missing folder: a data directory needs {folder.name}/*.yaml")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise MarketDataError(folder, "", f"no *.yaml files in {folder}")
    items, seen = [], {}
    for path in files:
        item = _load_file(path, model)
        if item.id in seen:
            raise MarketDataError(path, "id", f"duplicate id {item.id!r} (also in {seen[item.id].name})")
        seen[item.id] = path
        items.append(item)
    items.sort(key=lambda x: x.id)
    return items


def load(directory: str | Path) -> MarketData:
    """Read a Magentic-layout data directory (``customers/``, ``businesses/``)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MarketDataError(directory, "", "not a directory (expected customers/*.yaml and businesses/*.yaml inside)")
    customers = _load_folder(directory / "customers", Customer)
    businesses = _load_folder(directory / "businesses", Business)
    clash = {c.id for c in customers} & {b.id for b in businesses}
    if clash:
        raise MarketDataError(directory, "id", f"ids used by both a customer and a business: {sorted(clash)[:5]}")
    return MarketData(customers, businesses, str(directory))


def write(directory: str | Path, data: MarketData) -> None:
    """Write a market in Magentic's layout (one YAML file per participant)."""
    directory = Path(directory)
    for sub, items in (("customers", data.customers), ("businesses", data.businesses)):
        (directory / sub).mkdir(parents=True, exist_ok=True)
        for item in items:
            text = yaml.safe_dump(item.model_dump(exclude={"type"}), sort_keys=False, allow_unicode=True)
            (directory / sub / f"{item.id}.yaml").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- arrays


@dataclass
class MarketArrays:
    """A market compiled to arrays (indices follow ``data.customers`` / ``data.businesses``).

    Candidate pairs (business carries every requested item) are sorted by
    customer, then business, with CSR pointers ``cand_indptr``.
    """

    items: list[str]
    amenities: list[str]
    value: np.ndarray            # (C,) 2 * sum of willingness to pay
    request: sparse.csr_matrix   # (C, I) 0/1
    required: np.ndarray         # (C, A) bool
    menu: sparse.csr_matrix      # (B, I) price (explicit entries = carried)
    carried: sparse.csr_matrix   # (B, I) 0/1
    has_amenity: np.ndarray      # (B, A) bool
    rating: np.ndarray           # (B,)
    cand_indptr: np.ndarray
    cand_customer: np.ndarray
    cand_business: np.ndarray
    cand_price: np.ndarray
    cand_qualifies: np.ndarray

    @property
    def cand_utility(self) -> np.ndarray:
        return np.where(self.cand_qualifies, self.value[self.cand_customer] - self.cand_price, -self.cand_price)


def _numbered(names: Any) -> dict[str, int]:
    """``{name: k}``, names numbered 0, 1, ... in order of first appearance."""
    distinct = dict.fromkeys(names)
    return dict(zip(distinct, range(len(distinct))))


def compile_arrays(data: MarketData) -> MarketArrays:
    """Index items and amenities and find every customer's candidate businesses (sparse products)."""
    customers, businesses = data.customers, data.businesses
    # Items and amenities numbered in order of first appearance: businesses' menus first, then customers' requests.
    item_index = _numbered(chain(chain.from_iterable(b.menu_features for b in businesses),
                                 chain.from_iterable(c.menu_features for c in customers)))
    amen_index = _numbered(chain(chain.from_iterable(b.amenity_features for b in businesses),
                                 chain.from_iterable(c.amenity_features for c in customers)))
    n_c, n_b, n_i, n_a = len(customers), len(businesses), len(item_index), len(amen_index)

    menu_sizes = np.fromiter((len(b.menu_features) for b in businesses), dtype=np.int64, count=n_b)
    rows = np.repeat(np.arange(n_b, dtype=np.int64), menu_sizes)
    # map / chain rather than generator expressions: the same values in the same order, without a Python frame per entry.
    cols = np.fromiter(map(item_index.__getitem__, chain.from_iterable(b.menu_features for b in businesses)), dtype=np.int64, count=int(menu_sizes.sum()))
    prices = np.fromiter(chain.from_iterable(b.menu_features.values() for b in businesses), dtype=float, count=int(menu_sizes.sum()))
    has_amenity = np.zeros((n_b, n_a), dtype=bool)
    amen_sizes = np.fromiter((len(b.amenity_features) for b in businesses), dtype=np.int64, count=n_b)
    has_amenity[np.repeat(np.arange(n_b), amen_sizes),
                np.fromiter(map(amen_index.__getitem__, chain.from_iterable(b.amenity_features for b in businesses)), dtype=np.int64, count=int(amen_sizes.sum()))] = \
        np.fromiter(map(bool, chain.from_iterable(b.amenity_features.values() for b in businesses)), dtype=bool, count=int(amen_sizes.sum()))
    # carried: the 0/1 pattern (a zero price still counts as carried); menu: the prices.
    carried = sparse.csr_matrix((np.ones(rows.shape[0], dtype=np.float32), (rows, cols)), shape=(n_b, n_i))
    menu = sparse.csr_matrix((prices, (rows, cols)), shape=(n_b, n_i))

    request_sizes = np.fromiter((len(c.menu_features) for c in customers), dtype=np.int64, count=n_c)
    rrows = np.repeat(np.arange(n_c, dtype=np.int64), request_sizes)
    rcols = np.fromiter(map(item_index.__getitem__, chain.from_iterable(c.menu_features for c in customers)), dtype=np.int64, count=int(request_sizes.sum()))
    required = np.zeros((n_c, n_a), dtype=bool)
    need_sizes = np.fromiter((len(c.amenity_features) for c in customers), dtype=np.int64, count=n_c)
    required[np.repeat(np.arange(n_c), need_sizes),
             np.fromiter(map(amen_index.__getitem__, chain.from_iterable(c.amenity_features for c in customers)), dtype=np.int64, count=int(need_sizes.sum()))] = True
    value = np.fromiter((2.0 * sum(c.menu_features.values()) for c in customers), dtype=float, count=n_c)
    request = sparse.csr_matrix((np.ones(len(rrows), dtype=np.float32), (rrows, rcols)), shape=(n_c, n_i))
    n_items = np.asarray(request.sum(axis=1)).ravel()

    hits = (request @ carried.T).tocoo()   # (C, B): how many requested items b carries
    full = np.rint(hits.data) == n_items[hits.row]
    cc, bb = hits.row[full].astype(np.int64), hits.col[full].astype(np.int64)
    order = np.lexsort((bb, cc))
    cc, bb = cc[order], bb[order]
    # Price of c's order at b: sum of menu prices of the requested items, added in the customer's item order
    # (the same float additions as a loop; a missing position adds 0.0, which changes nothing).
    rrows_a, rcols_a = np.asarray(rrows, dtype=np.int64), np.asarray(rcols, dtype=np.int64)
    first = np.searchsorted(rrows_a, rrows_a)                   # rrows is sorted: each entry's row start
    longest = int((np.arange(rrows_a.shape[0]) - first).max(initial=-1)) + 1
    wanted = np.full((n_c, max(longest, 1)), -1, dtype=np.int64)
    wanted[rrows_a, np.arange(rrows_a.shape[0]) - first] = rcols_a
    cand_price = np.zeros(cc.shape[0])
    for t in range(longest):
        item = wanted[cc, t]
        has = item >= 0
        price = np.zeros(cc.shape[0])
        if has.any():
            price[has] = np.asarray(menu[bb[has], item[has]]).ravel()
        cand_price = cand_price + price
    missing = required[cc].astype(np.int32) * (~has_amenity[bb]).astype(np.int32)
    qualifies = missing.sum(axis=1) == 0 if n_a else np.ones(cc.shape[0], dtype=bool)
    indptr = np.zeros(n_c + 1, dtype=np.int64)
    np.cumsum(np.bincount(cc, minlength=n_c), out=indptr[1:])
    return MarketArrays(
        items=list(item_index), amenities=list(amen_index), value=value, request=request, required=required,
        menu=menu, carried=carried, has_amenity=has_amenity,
        rating=np.asarray([b.rating for b in businesses], dtype=float),
        cand_indptr=indptr, cand_customer=cc, cand_business=bb, cand_price=cand_price, cand_qualifies=qualifies,
    )


def baselines(data: MarketData, ties: str = "lowest") -> dict[str, Any]:
    """The welfare baselines of ``mechanisms.market_welfare`` for a market."""
    from mechanisms.market_welfare import baselines as compute

    arrays = compile_arrays(data)
    result = compute(arrays.value, arrays.cand_customer, arrays.cand_business, arrays.cand_price, arrays.cand_qualifies, ties=ties)
    return {
        "customers": len(data.customers),
        "businesses": len(data.businesses),
        **{k: round(v, 2) for k, v in result.as_dict().items()},
        "customers_without_candidates": result.customers_without_candidates,
        "customers_without_qualifying_candidates": result.customers_without_qualifying,
    }


# --------------------------------------------------------------------------- synthetic generator

_WORDS = {
    "restaurants": {
        "a": "Smoky Spicy Zesty Crispy Grilled Roasted Sweet Tangy Fiery Creamy Golden Charred Honey Citrus Herb Garlic Chipotle Cilantro Mango Lime Ancho Chili Avocado Pineapple Jalapeno Cinnamon Coconut Poblano Tamarind Hibiscus".split(),
        "b": "Black-Bean Chicken Shrimp Pork Beef Veggie Chorizo Fish Carnitas Barbacoa Steak Mushroom Corn Cheese Plantain Sweet-Potato Cactus Tomato Cucumber Pepper Queso Salsa Guava Papaya Walnut Almond Pecan Berry Melon Lentil".split(),
        "c": "Tacos Burrito Quesadilla Enchiladas Nachos Tostadas Salad Soup Empanadas Fajitas Bowl Wings Margarita Smoothie Churros Flan Tamales Sliders Skewers Dip Platter Wrap Torta Sundae Lemonade Slushie Pudding Chowder Ceviche Skillet".split(),
        "amenities": ["Takes Reservations", "Private Dining", "Large Groups", "Onsite Parking", "Outdoor Seating",
                      "Children's Menu", "Free Wifi", "Live Music", "Wheelchair Accessible", "Happy Hour"],
        "price": (4.0, 22.0),
        "kind": "restaurant",
    },
    "contractors": {
        "a": "Emergency Residential Commercial Full Partial Seasonal Annual Premium Basic Deluxe Standard Custom Exterior Interior Eco Smart Heavy-Duty Rapid Same-Day Weekend Certified Historic Modern Luxury Budget Compact Whole-House Spot Deep Precision".split(),
        "b": "Roof Gutter Drain Pipe Water-Heater Furnace AC Deck Fence Driveway Window Door Cabinet Tile Drywall Carpet Hardwood Siding Chimney Patio Basement Attic Garage Lawn Tree Pool Solar Insulation Electrical Plumbing Shower".split(),
        "c": "Repair Installation Inspection Cleaning Replacement Painting Sealing Removal Upgrade Tune-Up Restoration Waterproofing Leveling Refinishing Estimate Assessment Maintenance Retrofit Wiring Caulking Patching Staining Pressure-Wash Demolition Framing Grading Trimming Servicing Winterizing Design".split(),
        "amenities": ["Licensed", "Insured", "Free Estimates", "Weekend Service", "Emergency Service", "Warranty",
                      "Eco-Friendly Materials", "Financing Available", "Senior Discount", "Background-Checked Staff"],
        "price": (60.0, 900.0),
        "kind": "contractor",
    },
}

_NAME_A = "Blue Red Golden Silver Green Sunny Lucky Happy Bright Bold Royal Urban Old Little Grand North South East West Prime".split()
_NAME_B = "Fox Oak River Stone Pine Lantern Anchor Harbor Summit Maple Cedar Falcon Bridge Meadow Canyon Orchard Comet Beacon Willow Ember".split()
_FIRST = "Ava Ben Chloe Dan Emma Finn Grace Hugo Iris Jack Kai Lena Max Nora Omar Pia Quinn Rosa Sam Tara Uma Vic Wes Xena Yara Zoe".split()
_LAST = "Okoro Carter Novak Harris Scott Kim Wilson Thompson Turner Lopez Patel Nguyen Rossi Silva Berg Costa Meyer Ivanov Sato Khan".split()

DISTRACTOR_ITEMS = (3, 6)
DISTRACTOR_AMENITIES = (2, 4)
BUSINESSES_PER_CUSTOMER = 3


_PREFIX = "Classic Signature Family Mini Double Royal Street Rustic Festival Grand Petite House".split()


def max_customers(domain: str) -> int:
    """The most customers ``generate`` can give distinct orders to in ``domain`` (above ``VECTORISED_ABOVE``: two prefix words)."""
    w = _WORDS[domain]
    return (len(_PREFIX) * len(_PREFIX_2) * len(w["a"]) * len(w["b"]) * len(w["c"]) - 60) // 7 * 3


def customer_id(i: int) -> str:
    """The id of a generated market's ``i``-th customer (from 0)."""
    return f"customer_{i + 1:04d}"


def business_id(j: int) -> str:
    """The id of a generated market's ``j``-th business (from 0)."""
    return f"business_{j + 1:04d}"


def _item_vocabulary(domain: str, customers: int, businesses: int, rng: np.random.Generator):
    """Both generators' first draws: the domain's words, ``set_size`` (a third of the customers) and ``need``
    distinct item names (every order plus distractors) with their mean prices and price spreads.

    Names are a seeded choice of word combinations; large markets add one prefix word ("Classic", ...), then two.
    """
    if domain not in _WORDS:
        raise ValueError(f"unknown domain {domain!r}; allowed: {', '.join(_WORDS)}")
    if customers < 1 or businesses < 1:
        raise ValueError("need at least one customer and one business")
    words = _WORDS[domain]
    set_size = math.ceil(customers / 3)
    need = set_size * 7 + 60
    a, b, c = words["a"], words["b"], words["c"]
    total = len(a) * len(b) * len(c)
    prefixes = [""]
    if need > total:
        prefixes = [p + " " for p in _PREFIX]
    if need > total * len(prefixes):
        prefixes = [p + " " + q + " " for p in _PREFIX for q in _PREFIX_2]
        if need > total * len(prefixes):
            raise ValueError(f"at most {max_customers(domain)} customers for domain {domain!r}")
    codes = rng.choice(total * len(prefixes), size=need, replace=False)
    k = codes % total
    pa, pb, pc = k // (len(b) * len(c)), (k // len(c)) % len(b), k % len(c)
    names = [f"{prefixes[p]}{a[x]} {b[y]} {c[z]}".replace("-", " ") for p, x, y, z in
             zip((codes // total).tolist(), pa.tolist(), pb.tolist(), pc.tolist())]
    lo, hi = words["price"]
    means = np.round(rng.uniform(lo, hi, size=need), 2) - 0.01
    sds = means * rng.uniform(0.1, 0.3, size=need)
    return words, set_size, need, names, means, sds


def generate(domain: str, customers: int, businesses: int, seed: int) -> MarketData:
    """A seeded synthetic market in Magentic's structure, at any size.

    Each customer orders one, two or three items (thirds of the customers,
    Magentic's sliding windows over a shuffled item list) and needs one or two
    amenities; willingness to pay is the item's mean price. Each customer is
    served by ``min(3, businesses)`` distinct businesses (round-robin over a
    seeded shuffle, so every business serves about ``3 * customers /
    businesses`` customers): all carry the order at prices drawn around the
    mean; all but the last have the required amenities, the last lacks the
    first one (unless another customer it serves needs it). Businesses add a
    few distractor items and amenities.

    Above ``VECTORISED_ABOVE`` customers the market is drawn by
    ``generate_vectorised`` (the same structure and distribution, drawn with
    array operations: a different market for the same seed); up to it, by the
    loop below, whose markets the shipped scenarios and golden data use.
    """
    if customers > VECTORISED_ABOVE:
        return generate_vectorised(domain, customers, businesses, seed)
    rng = np.random.default_rng(seed)
    words, set_size, need, names, means, sds = _item_vocabulary(domain, customers, businesses, rng)

    orders: list[list[int]] = []
    idx = 0
    for _ in range(set_size):
        orders.append([idx])
        idx += 1
    for _ in range(set_size):
        orders.append([idx, idx + 1])
        idx += int(rng.integers(1, 3))
    idx += 1
    for _ in range(set_size):
        orders.append([idx, idx + 1, idx + 2])
        idx += int(rng.integers(1, 4))
    idx += 2
    distractors = np.arange(idx, need)
    orders = orders[:customers]
    rng.shuffle(orders)

    amenities = words["amenities"]
    people = [f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}" + (f" {i // (len(_FIRST) * len(_LAST)) + 1}" if i >= len(_FIRST) * len(_LAST) else "") for i in range(customers)]
    cust: list[Customer] = []
    wanted_amenities: list[list[str]] = []
    for i, order in enumerate(orders):
        need_a = [amenities[k] for k in rng.choice(len(amenities), size=int(rng.integers(1, 3)), replace=False)]
        menu = {names[k]: float(round(means[k], 2)) for k in order}
        wanted_amenities.append(need_a)
        request = (
            f"Please find a {words['kind']} that offers " + ", ".join(f"{n} (1)" for n in menu)
            + " and has " + " and ".join(need_a) + ". I intend to place an order."
        )
        cust.append(Customer.model_construct(_CUSTOMER_FIELDS, type="customer", id=customer_id(i), name=people[i], request=request, menu_features=menu, amenity_features=need_a))

    # Assign BUSINESSES_PER_CUSTOMER distinct businesses per customer, round-robin over a shuffle.
    per = min(BUSINESSES_PER_CUSTOMER, businesses)
    slots = np.concatenate([rng.permutation(businesses) for _ in range(math.ceil(customers * per / businesses) + 1)])
    served: list[list[tuple[int, bool]]] = [[] for _ in range(businesses)]  # (customer, lacks first amenity)
    pos = 0
    for i in range(customers):
        chosen: list[int] = []
        while len(chosen) < per:
            j = int(slots[pos % len(slots)])
            pos += 1
            if j not in chosen:
                chosen.append(j)
        for rank, j in enumerate(chosen):
            served[j].append((i, rank == per - 1 and per > 1))

    biz: list[Business] = []
    for j in range(businesses):
        menu: dict[str, float] = {}
        forced_on: set[str] = set()
        forced_off: set[str] = set()
        for i, lacks in served[j]:
            for k in orders[i]:
                menu[names[k]] = float(round(max(0.01, rng.normal(means[k], sds[k])), 2))
            if lacks:
                forced_off.add(wanted_amenities[i][0])
                forced_on.update(wanted_amenities[i][1:])
            else:
                forced_on.update(wanted_amenities[i])
        for k in rng.choice(distractors, size=int(rng.integers(*DISTRACTOR_ITEMS, endpoint=True)), replace=False).tolist():
            menu.setdefault(names[k], float(round(max(0.01, rng.normal(means[k], sds[k])), 2)))
        extra = {amenities[k] for k in rng.choice(len(amenities), size=int(rng.integers(*DISTRACTOR_AMENITIES, endpoint=True)), replace=False)}
        on = forced_on | (extra - forced_off)
        items = list(menu.items())
        rng.shuffle(items)
        name = f"{_NAME_A[j % len(_NAME_A)]} {_NAME_B[(j // len(_NAME_A)) % len(_NAME_B)]}" + (f" {j // (len(_NAME_A) * len(_NAME_B)) + 1}" if j >= len(_NAME_A) * len(_NAME_B) else "")
        highlights = ", ".join(n for n, _ in items[:2])
        biz.append(Business.model_construct(
            _BUSINESS_FIELDS, type="business",
            id=business_id(j), name=name,
            description=f"{name} is a friendly local {words['kind']}; customers love our {highlights}.",
            rating=float(round(rng.uniform(3.0, 5.0), 1)),
            progenitor_customer=cust[served[j][0][0]].id if served[j] else "",
            menu_features=dict(items), amenity_features={a_: a_ in on for a_ in amenities},
            min_price_factor=float(round(rng.uniform(0.6, 0.95), 2)),
        ))
    return MarketData(cust, biz, f"<generated {domain} {customers}x{businesses} seed {seed}>")


# --------------------------------------------------------------------------- vectorised synthetic generator

VECTORISED_ABOVE = 10_000   # generate() switches to generate_vectorised for more customers than this
_PREFIX_2 = "Spicy-Style Mild Loaded Light Smothered Stuffed Baked Fried Glazed Toasted Chilled Hot".split()


def _distinct_choices(rng: np.random.Generator, population: int, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row ``j`` a uniform random subset of ``sizes[j]`` distinct values of ``range(population)`` (Floyd's algorithm, all rows at once).

    Returns ``(row, value)`` pairs. R. W. Floyd's sampling (Bentley & Floyd, "Programming pearls: a sample of
    brilliance", CACM 30(9), 1987): for ``t`` from ``population - size`` to ``population - 1`` draw ``r`` in
    ``[0, t]`` and take ``r``, or ``t`` if ``r`` was taken already.
    """
    sizes = np.minimum(np.asarray(sizes, dtype=np.int64), population)
    most = int(sizes.max(initial=0))
    chosen = np.full((sizes.shape[0], max(most, 1)), -1, dtype=np.int64)
    for step in range(most):
        active = step < sizes
        t = population - sizes + step
        r = np.floor(rng.random(sizes.shape[0]) * (t + 1)).astype(np.int64)
        taken = (chosen[:, :step] == r[:, None]).any(axis=1)
        chosen[:, step] = np.where(active, np.where(taken, t, r), -1)
    rows, cols = np.nonzero(chosen >= 0)
    return rows, chosen[rows, cols]


def generate_vectorised(domain: str, customers: int, businesses: int, seed: int) -> MarketData:
    """``generate``'s market structure drawn with array operations (a different random stream, the same distribution).

    The same construction as ``generate``: item names over a seeded shuffle of word combinations (with one or two
    prefix words in large markets), thirds of one-, two- and three-item orders over sliding windows, one or two
    required amenities, ``min(3, businesses)`` distinct businesses per customer in round-robin over shuffles (the
    last lacks the first required amenity unless another customer it serves needs it), prices around the item's
    mean, 3-6 distractor items and 2-4 extra amenities per business. Draws are made for all participants at once,
    so for the same seed it is a different market than ``generate``'s; the shipped scenarios (at most 10,000
    customers) keep the loop generator and their golden data.
    """
    rng = np.random.default_rng(seed)
    words, set_size, need, names, means, sds = _item_vocabulary(domain, customers, businesses, rng)

    # Orders: (customer, up to 3 items) with -1 padding, over sliding windows, then shuffled.
    pair_start = set_size + np.concatenate(([0], np.cumsum(rng.integers(1, 3, size=set_size))))
    triple_base = int(pair_start[-1]) + 1
    triple_start = triple_base + np.concatenate(([0], np.cumsum(rng.integers(1, 4, size=set_size))))
    first_distractor = int(triple_start[-1]) + 2
    orders = np.full((3 * set_size, 3), -1, dtype=np.int64)
    orders[:set_size, 0] = np.arange(set_size)
    orders[set_size : 2 * set_size, :2] = pair_start[:-1, None] + np.arange(2)
    orders[2 * set_size :, :] = triple_start[:-1, None] + np.arange(3)
    orders = orders[:customers][rng.permutation(customers)]
    order_size = (orders >= 0).sum(axis=1)

    amenities = words["amenities"]
    n_amen = len(amenities)
    need_count = rng.integers(1, 3, size=customers)
    need_order = np.argsort(rng.random((customers, n_amen)), axis=1)[:, :2]   # a random ordered pair of amenities
    people = [f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}" + (f" {i // (len(_FIRST) * len(_LAST)) + 1}" if i >= len(_FIRST) * len(_LAST) else "") for i in range(customers)]
    wtp = np.round(means, 2).tolist()   # Python floats: indexing a list, not an array, per item
    cust: list[Customer] = []
    for i, (order, size, n_need, pick) in enumerate(zip(orders.tolist(), order_size.tolist(), need_count.tolist(), need_order.tolist())):
        menu = {names[x]: wtp[x] for x in order[:size]}
        need_a = [amenities[x] for x in pick[:n_need]]
        request = (f"Please find a {words['kind']} that offers " + ", ".join(f"{n} (1)" for n in menu)
                   + " and has " + " and ".join(need_a) + ". I intend to place an order.")
        # Constructed, not validated: the values are the fields' types already (str, dict of float, list of str), as
        # the loop generator's; validating copied the dict and list and took twice the time (11 against 5 us).
        cust.append(Customer.model_construct(_CUSTOMER_FIELDS, type="customer", id=customer_id(i), name=people[i],
                                             request=request, menu_features=menu, amenity_features=need_a))

    # Businesses per customer: consecutive slots of concatenated shuffles; a rare repeat at a shuffle's seam is redrawn.
    per = min(BUSINESSES_PER_CUSTOMER, businesses)
    rounds = math.ceil(customers * per / businesses) + 1
    slots = np.argsort(rng.random((rounds, businesses)), axis=1).ravel()[: customers * per]
    chosen = slots.reshape(customers, per)
    repeated = np.flatnonzero((np.sort(chosen, axis=1)[:, 1:] == np.sort(chosen, axis=1)[:, :-1]).any(axis=1)) if per > 1 else []
    for i in repeated:
        chosen[i] = rng.choice(businesses, size=per, replace=False)
    pair_business = chosen.ravel()
    pair_customer = np.repeat(np.arange(customers), per)
    pair_lacks = np.tile(np.arange(per) == per - 1, customers) & (per > 1)

    # Menus: the served customers' items (a repeated item keeps its last price, as dict assignment) and distractors.
    item_business = np.repeat(pair_business, order_size[pair_customer])
    item = orders[pair_customer][orders[pair_customer] >= 0]
    price = np.round(np.maximum(0.01, rng.normal(means[item], sds[item])), 2)
    key = item_business * need + item
    last = np.unique(key[::-1], return_index=True)[1]
    last = key.shape[0] - 1 - last
    item_business, item, price = item_business[last], item[last], price[last]
    d_rows, d_values = _distinct_choices(rng, need - first_distractor, rng.integers(*DISTRACTOR_ITEMS, size=businesses, endpoint=True))
    d_item = first_distractor + d_values
    d_price = np.round(np.maximum(0.01, rng.normal(means[d_item], sds[d_item])), 2)
    item_business = np.concatenate([item_business, d_rows])
    item = np.concatenate([item, d_item])
    price = np.concatenate([price, d_price])
    shuffle = np.lexsort((rng.random(item.shape[0]), item_business))   # each menu in a random order
    item_business, item, price = item_business[shuffle], item[shuffle], price[shuffle]
    menu_ptr = np.searchsorted(item_business, np.arange(businesses + 1))

    # Amenities: forced on / off by the served customers, extra ones at random (not the forced-off ones).
    forced_on = np.zeros((businesses, n_amen), dtype=bool)
    forced_off = np.zeros((businesses, n_amen), dtype=bool)
    first_need = need_order[pair_customer, 0]
    second = need_count[pair_customer] > 1
    forced_off[pair_business[pair_lacks], first_need[pair_lacks]] = True
    forced_on[pair_business[~pair_lacks], first_need[~pair_lacks]] = True
    forced_on[pair_business[second], need_order[pair_customer[second], 1]] = True
    extra = np.zeros((businesses, n_amen), dtype=bool)
    e_rows, e_values = _distinct_choices(rng, n_amen, rng.integers(*DISTRACTOR_AMENITIES, size=businesses, endpoint=True))
    extra[e_rows, e_values] = True
    on = forced_on | (extra & ~forced_off)
    rating = np.round(rng.uniform(3.0, 5.0, size=businesses), 1)
    factor = np.round(rng.uniform(0.6, 0.95, size=businesses), 2)
    first_served = np.full(businesses, -1, dtype=np.int64)
    first_served[pair_business[::-1]] = pair_customer[::-1]   # the last write wins: the lowest customer index

    biz: list[Business] = []
    item_names = [names[x] for x in item.tolist()]
    # One Python float per distinct price (cents in a few thousand values), not one per menu entry: 6.4 million
    # entries at 1,000,000 x 100,000, 24 bytes each.
    distinct, which = np.unique(price, return_inverse=True)
    prices = list(map(distinct.tolist().__getitem__, which.tolist()))
    # Per-business values as Python lists once (indexing arrays element by element costs more than building the rows).
    ptr, ratings, factors, served_first, amenities_on = (menu_ptr.tolist(), rating.tolist(), factor.tolist(),
                                                         first_served.tolist(), on.tolist())
    for j in range(businesses):
        s, e = ptr[j], ptr[j + 1]
        menu = dict(zip(item_names[s:e], prices[s:e]))
        name = f"{_NAME_A[j % len(_NAME_A)]} {_NAME_B[(j // len(_NAME_A)) % len(_NAME_B)]}" + (f" {j // (len(_NAME_A) * len(_NAME_B)) + 1}" if j >= len(_NAME_A) * len(_NAME_B) else "")
        highlights = ", ".join(item_names[s : min(e, s + 2)])
        biz.append(Business.model_construct(   # constructed as the customers: prices >= 0.01, factors in [0.6, 0.95]
            _BUSINESS_FIELDS, type="business", id=business_id(j), name=name,
            description=f"{name} is a friendly local {words['kind']}; customers love our {highlights}.",
            rating=ratings[j], progenitor_customer=customer_id(served_first[j]) if served_first[j] >= 0 else "",
            menu_features=menu, amenity_features=dict(zip(amenities, amenities_on[j])), min_price_factor=factors[j],
        ))
    return MarketData(cust, biz, f"<generated {domain} {customers}x{businesses} seed {seed} vectorised>")
