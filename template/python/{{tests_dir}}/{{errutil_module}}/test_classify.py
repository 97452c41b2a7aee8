"""Frame classification by module name, and how files are shown."""

from __future__ import annotations

import json
import os
import types

import pytest

from ._subject import APP_PACKAGES, PACKAGE, display_file, errutil, is_app_module, module_name


def test_a_module_is_the_apps_when_it_is_the_package_or_inside_it() -> None:
    packages = ("orders", "billing.core")
    assert is_app_module("orders", packages)
    assert is_app_module("orders.repo", packages)
    assert is_app_module("billing.core.tax", packages)
    assert not is_app_module("billing", packages)


def test_no_bare_prefix_match() -> None:
    # rich and structlog match path prefixes, so "click" swallows "click_plugins": not here.
    assert not is_app_module("click_plugins", ("click",))
    assert not is_app_module("ordersx.repo", ("orders",))


def test_errutil_frames_are_never_the_apps() -> None:
    assert not is_app_module(errutil.__name__, (PACKAGE,))
    assert not is_app_module(errutil.__name__ + ".middleware", (PACKAGE,))
    assert is_app_module(f"{PACKAGE}.orders.repo", (PACKAGE,))


def test_default_app_package_is_the_parent_of_errutil() -> None:
    # First the package errutil is in; then the repository's other packages and root modules,
    # as recorded when errutil was added (none besides it in a generated service).
    packages = errutil.Config().app_packages
    assert packages[0] == PACKAGE
    assert packages == tuple(dict.fromkeys((PACKAGE, *APP_PACKAGES)))
    assert is_app_module(f"{PACKAGE}.orders.api", packages)
    assert not is_app_module("fastapi.routing", packages)


def test_python_dash_m_main_is_named_by_its_spec() -> None:
    spec = types.SimpleNamespace(name=f"{PACKAGE}.__main__")
    assert module_name({"__name__": "__main__", "__spec__": spec}) == f"{PACKAGE}.__main__"
    assert module_name({"__name__": "__main__", "__spec__": None}) == "__main__"
    assert module_name({}) == ""


def _raised_in_main(spec: object) -> BaseException:
    """An exception raised by code whose module is ``__main__``, with *spec* as its spec."""
    namespace = {"__name__": "__main__", "__spec__": spec}
    try:
        exec(compile("raise KeyError('k')", "<main>", "exec"), namespace)
    except KeyError as exc:
        return exc
    raise AssertionError("nothing raised")


def test_each_main_frame_is_named_by_its_own_spec_not_by_an_earlier_one() -> None:
    """A ``__main__`` frame without a spec is not the app's; one run as ``-m <package>`` is,
    whichever was seen first (the walk's cache of decisions never answers for ``__main__``)."""
    spec = types.SimpleNamespace(name=f"{PACKAGE}.__main__")
    specs = (None, spec, None, spec)  # each after the other kind, with one cache throughout
    raise_sites = [errutil.capture(_raised_in_main(s)).error.frames[0] for s in specs]
    assert [site.library for site in raise_sites] == [True, False, True, False]


def test_files_are_shown_relative_to_the_package_root() -> None:
    root = os.path.join(os.sep, "srv", "src")
    repo = os.path.join(root, "orders", "repo.py")
    init = os.path.join(root, "orders", "__init__.py")
    assert display_file(repo, "orders.repo") == "orders/repo.py"
    assert display_file(init, "orders") == "orders/__init__.py"
    assert display_file(json.decoder.__file__, "json.decoder") == "json/decoder.py"


def test_odd_files_are_shown_as_they_are() -> None:
    assert display_file("<string>", "__main__") == "<string>"
    assert display_file("<frozen importlib._bootstrap>", "importlib._bootstrap") == (
        "<frozen importlib._bootstrap>"
    )
    assert display_file("/nowhere/script.py", "") == "script.py"


def test_configure_changes_the_app_packages_and_refuses_bad_values() -> None:
    packages = errutil.configure(app_packages=["fastapi"]).app_packages
    assert is_app_module("fastapi.routing", packages)
    assert not is_app_module(f"{PACKAGE}.orders.api", packages)
    for bad in (["", "x"], [".x"], PACKAGE):
        with pytest.raises((ValueError, TypeError), match="app_packages"):
            errutil.configure(app_packages=bad)
    assert errutil.configure().app_packages == ("fastapi",)
