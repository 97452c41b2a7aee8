"""A failing test whose call passes through json's frames."""

from . import service


def test_import_order() -> None:
    assert service.import_order('{"id": "a1", ') == {"id": "a1"}
