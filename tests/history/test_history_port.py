"""The `History` port: `Ledger` (the device's history) and `FakeHistory` (the tests') both stand
in for it, method by method, so a lane test on the fake proves what the lane does with a ledger.

`isinstance` on a runtime-checkable protocol looks only at the method names; the signatures are
compared here too (parameter names, kinds and types, return type), as mypy compares them where
`open_lane` hands a `Ledger` to the lane.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import pytest

from appliance.history import History, Ledger
from tests.support.history_support import FakeHistory, open_ledger


def port_methods() -> list[str]:
    return sorted(
        name for name, value in vars(History).items() if callable(value) and name[0] != "_"
    )


def mismatches(implementation: type, protocol: type = History) -> list[str]:
    """Where `implementation` could not be called as the protocol's methods are called."""
    found = []
    for name in port_methods():
        method = getattr(implementation, name, None)
        if method is None:
            found.append(f"{name}: missing")
            continue
        want, have = inspect.signature(getattr(protocol, name)), inspect.signature(method)
        want_types = typing.get_type_hints(getattr(protocol, name))
        have_types = typing.get_type_hints(method)
        for param in list(want.parameters.values())[1:]:
            other = have.parameters.get(param.name)
            if other is None or other.kind is not param.kind:
                found.append(f"{name}: parameter {param.name} missing or of another kind")
            elif have_types.get(param.name) != want_types.get(param.name):
                found.append(f"{name}: parameter {param.name} of another type")
            elif param.default is not inspect.Parameter.empty and other.default != param.default:
                found.append(f"{name}: parameter {param.name} has another default")
        for extra in list(have.parameters.values())[1:]:
            if extra.name not in want.parameters and extra.default is inspect.Parameter.empty:
                found.append(f"{name}: requires {extra.name}, which the port does not pass")
        if have_types.get("return") != want_types.get("return"):
            found.append(f"{name}: returns another type")
    return found


def test_the_port_holds_only_what_the_lane_calls() -> None:
    assert port_methods() == ["append", "append_batch", "checks_of", "close"]


@pytest.mark.parametrize("implementation", [Ledger, FakeHistory])
def test_ledger_and_fake_implement_the_port(implementation: type) -> None:
    assert mismatches(implementation) == []


def test_an_open_ledger_is_a_history(tmp_path: Path) -> None:
    with open_ledger(tmp_path / "history") as ledger:
        assert isinstance(ledger, History)
    assert isinstance(FakeHistory(), History)


def test_the_check_finds_a_method_that_does_not_fit() -> None:
    class Wrong:
        def append(self, event: int) -> None: ...

        def append_batch(self, items: list[int], force: bool) -> None: ...

    found = mismatches(Wrong)
    assert "append: parameter event of another type" in found
    assert "append: returns another type" in found
    assert "append_batch: parameter events missing or of another kind" in found
    assert "append_batch: requires force, which the port does not pass" in found
    assert "checks_of: missing" in found and "close: missing" in found
    assert not isinstance(Wrong(), History)
