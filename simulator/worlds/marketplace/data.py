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


def compile_arrays(data: MarketData) -> MarketArrays:
    """Index items and amenities and find every customer's candidate businesses (sparse products)."""
    customers, businesses = data.customers, data.businesses
    item_index: dict[str, int] = {}
    amen_index: dict[str, int] = {}
    for b in businesses:
        for name in b.menu_features:
            item_index.setdefault(name, len(item_index))
        for name in b.amenity_features:
            amen_index.setdefault(name, len(amen_index))
    for c in customers:
        for name in c.menu_features:
            item_index.setdefault(name, len(item_index))
        for name in c.amenity_features:
            amen_index.setdefault(name, len(amen_index))
    n_c, n_b, n_i, n_a = len(customers), len(businesses), len(item_index), len(amen_index)

    rows, cols, prices = [], [], []
    has_amenity = np.zeros((n_b, n_a), dtype=bool)
    for j, b in enumerate(businesses):
        for name, price in b.menu_features.items():
            rows.append(j)
            cols.append(item_index[name])
            prices.append(price)
        for name, available in b.amenity_features.items():
            has_amenity[j, amen_index[name]] = bool(available)
    # carried: the 0/1 pattern (a zero price still counts as carried); menu: the prices.
    carried = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_b, n_i))
    menu = sparse.csr_matrix((np.asarray(prices, dtype=float), (rows, cols)), shape=(n_b, n_i))

    rrows, rcols = [], []
    required = np.zeros((n_c, n_a), dtype=bool)
    value = np.empty(n_c)
    for i, c in enumerate(customers):
        for name in c.menu_features:
            rrows.append(i)
            rcols.append(item_index[name])
        for name in c.amenity_features:
            required[i, amen_index[name]] = True
        value[i] = 2.0 * sum(c.menu_features.values())
    request = sparse.csr_matrix((np.ones(len(rrows), dtype=np.float32), (rrows, rcols)), shape=(n_c, n_i))
    n_items = np.asarray(request.sum(axis=1)).ravel()

    hits = (request @ carried.T).tocoo()   # (C, B): how many requested items b carries
    full = np.rint(hits.data) == n_items[hits.row]
    cc, bb = hits.row[full].astype(np.int64), hits.col[full].astype(np.int64)
    order = np.lexsort((bb, cc))
    cc, bb = cc[order], bb[order]
    # Price of c's order at b: sum of menu prices of the requested items (exact, in item order).
    cand_price = np.empty(cc.shape[0])
    menus = [b.menu_features for b in businesses]
    wanted = [list(c.menu_features) for c in customers]
    for n, (ci, bi) in enumerate(zip(cc.tolist(), bb.tolist())):
        total = 0.0
        m = menus[bi]
        for item in wanted[ci]:
            total += m[item]
        cand_price[n] = total
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
    """The most customers ``generate`` can give distinct orders to in ``domain``."""
    w = _WORDS[domain]
    return (len(_PREFIX) * len(w["a"]) * len(w["b"]) * len(w["c"]) - 60) // 7 * 3


def customer_id(i: int) -> str:
    """The id of a generated market's ``i``-th customer (from 0)."""
    return f"customer_{i + 1:04d}"


def business_id(j: int) -> str:
    """The id of a generated market's ``j``-th business (from 0)."""
    return f"business_{j + 1:04d}"


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
    """
    if domain not in _WORDS:
        raise ValueError(f"unknown domain {domain!r}; allowed: {', '.join(_WORDS)}")
    if customers < 1 or businesses < 1:
        raise ValueError("need at least one customer and one business")
    words = _WORDS[domain]
    rng = np.random.default_rng(seed)
    lo, hi = words["price"]

    # Item vocabulary: enough distinct names for every order plus distractors.
    set_size = math.ceil(customers / 3)
    need = set_size * 7 + 60
    a, b, c = words["a"], words["b"], words["c"]
    total = len(a) * len(b) * len(c)
    prefixes = [""]
    if need > total:  # large markets: add a prefix word ("Classic", "Signature", ...)
        prefixes = [p + " " for p in _PREFIX]
        if need > total * len(prefixes):
            raise ValueError(f"at most {max_customers(domain)} customers for domain {domain!r}")
    codes = rng.choice(total * len(prefixes), size=need, replace=False)
    names = [
        f"{prefixes[k // total]}{a[(k % total) // (len(b) * len(c))]} {b[(k // len(c)) % len(b)]} {c[k % len(c)]}".replace("-", " ")
        for k in codes.tolist()
    ]
    means = np.round(rng.uniform(lo, hi, size=need), 2) - 0.01
    sds = means * rng.uniform(0.1, 0.3, size=need)

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
        cust.append(Customer.model_construct(type="customer", id=customer_id(i), name=people[i], request=request, menu_features=menu, amenity_features=need_a))

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
            type="business",
            id=business_id(j), name=name,
            description=f"{name} is a friendly local {words['kind']}; customers love our {highlights}.",
            rating=float(round(rng.uniform(3.0, 5.0), 1)),
            progenitor_customer=cust[served[j][0][0]].id if served[j] else "",
            menu_features=dict(items), amenity_features={a_: a_ in on for a_ in amenities},
            min_price_factor=float(round(rng.uniform(0.6, 0.95), 2)),
        ))
    return MarketData(cust, biz, f"<generated {domain} {customers}x{businesses} seed {seed}>")
