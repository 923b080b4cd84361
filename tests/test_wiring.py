"""`appliance.wiring`: parts named in the config or the build, resolved by name."""

from __future__ import annotations

import pytest

from appliance.errors import ApplianceError, Reason
from appliance.wiring import load_factory, optional_factory


def test_an_optional_part_missing_from_the_build_is_none_not_an_error() -> None:
    assert optional_factory("sync_not_in_this_build.service:check") is None
    assert optional_factory("sync.device.service:central_checks") is not None


def test_a_present_module_without_the_callable_is_still_a_usage_error() -> None:
    with pytest.raises(ApplianceError) as refused:
        optional_factory("sync.device.service:no_such_function")
    assert refused.value.reason is Reason.USAGE
    with pytest.raises(ApplianceError):
        load_factory("sync_not_in_this_build.service:check")
