"""hardware_mocks/traveller_sim.py: the traveller kinds derive from the chip defect variants."""

from __future__ import annotations

import random

from hardware_mocks.traveller_sim import DEFAULT_MIX, Kind, TravellerSimulator
from hardware_mocks.virtual_chip.defects import EXPECTED, Defect


def test_kinds_keep_their_names_and_order() -> None:
    """The demo's crowd and its summary list kinds in this order."""
    assert [kind.value for kind in Kind] == [
        "genuine",
        "expired",
        "watchlisted",
        "reused",
        "id_card",
        "tailgating",
        "manual_door",
        *(defect.value for defect in Defect),
        "impostor",
        "morphed",
        "iris_impostor",
    ]
    assert Kind.CLONED.name == "CLONED" and Kind("no_sod") is Kind.NO_SOD


def test_every_defect_variant_walks_through_the_simulated_lane() -> None:
    """A new defect is a new kind: in the crowd's mix, and refused for its own reason."""
    simulator = TravellerSimulator(seed=7)
    for number, defect in enumerate(Defect):
        kind = Kind(defect.value)
        assert DEFAULT_MIX[kind] > 0
        traveller = simulator._make(number, kind, random.Random(number))
        assert traveller.expected_reason is EXPECTED[defect][1]
