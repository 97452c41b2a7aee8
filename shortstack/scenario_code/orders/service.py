"""Business logic between the entry points and the storage."""

from . import repo


def get_order(order_id: str) -> dict[str, str]:
    order = repo.load_order(order_id)
    return order


def import_order(raw: str) -> object:
    return repo.parse_order(raw)
