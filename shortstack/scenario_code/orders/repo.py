"""Storage: where the crashes are raised."""

import json

ORDERS = {"a1": {"id": "a1", "item": "tea"}}


def load_order(order_id: str) -> dict[str, str]:
    return ORDERS[order_id]  # RAISE-SITE: KeyError for an unknown id


def parse_order(raw: str) -> object:
    return json.loads(raw)  # APP-CALL-INTO-JSON: the raise site is inside json
