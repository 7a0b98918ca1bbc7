"""Message records (``simulator/worlds/marketplace/records.py``): plain dicts, equal to the literal they replace,
that share their keys table with the other records of their kind."""

import json
import tracemalloc

from simulator.worlds.marketplace.records import new_item, new_record


def text_record(shared: bool) -> dict:
    if shared:
        record = new_record("customer_1", "business_2", "text", 0.5)
    else:
        record = {"id": "", "from": "customer_1", "to": "business_2", "kind": "text", "sent_at": 0.5}
    record["text"] = "Hello"
    record["id"] = "m1"
    return record


def proposal_record(shared: bool) -> dict:
    if shared:
        record = new_record("business_2", "customer_1", "order_proposal", 0.75)
    else:
        record = {"id": "", "from": "business_2", "to": "customer_1", "kind": "order_proposal", "sent_at": 0.75}
    record.update(proposal_id="proposal_1", items=[], total=9.5, text="", expires_at=None, paid=False)
    return record


def traced_bytes(make, n: int = 5000) -> float:
    tracemalloc.start()
    records = [make(i) for i in range(n)]
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(records) == n
    return size / n


def test_a_record_is_the_dict_it_replaces():
    for shared_record, plain in ((text_record(True), text_record(False)), (proposal_record(True), proposal_record(False))):
        assert type(shared_record) is dict and shared_record == plain
        assert json.dumps(shared_record) == json.dumps(plain)   # same keys, same order
        shared_record["paid"] = True   # a record stays writable
        assert shared_record["paid"] is True


def test_records_of_a_kind_share_their_keys():
    # A six-key dict carries its own 16-slot keys table; the shared ones hold values only (CPython's PEP 412 dicts).
    shared, plain = traced_bytes(lambda i: text_record(True)), traced_bytes(lambda i: text_record(False))
    assert shared < plain - 80, (shared, plain)
    shared, plain = traced_bytes(lambda i: proposal_record(True)), traced_bytes(lambda i: proposal_record(False))
    assert shared < plain - 200, (shared, plain)


def test_proposal_lines_are_the_item_dumps_with_shared_keys():
    from simulator.worlds.marketplace.actions import OrderItem

    item = OrderItem(name="Tacos", quantity=2, unit_price=4.5)
    line = new_item(item.name, item.quantity, item.unit_price)
    assert type(line) is dict and line == item.model_dump() and list(line) == list(item.model_dump())
    shared = traced_bytes(lambda i: new_item("Tacos", 1, 4.5))
    plain = traced_bytes(lambda i: {"name": "Tacos", "quantity": 1, "unit_price": 4.5})
    assert shared < plain - 50, (shared, plain)
