"""Channel transmittances (Gisin et al., Rev. Mod. Phys. 74, 145 (2002), Sec. III.B)."""

from __future__ import annotations

import pytest

from qkdstack.link.channels import arm_transmittances, link_transmittance
from qkdstack.params import LinkParams


def test_link_and_arm_transmittances() -> None:
    p = LinkParams(distance_km=50.0, attenuation_db_per_km=0.2, insertion_loss_db=3.0)
    assert link_transmittance(p) == pytest.approx(10 ** (-13.0 / 10))
    ta, tb = arm_transmittances(p)  # middle source: 25 km and 1.5 dB per arm
    assert ta == tb == pytest.approx(10 ** (-6.5 / 10))
    assert ta * tb == pytest.approx(link_transmittance(p))
    ta, tb = arm_transmittances(p.replace(source_position="alice"))
    assert ta == 1.0 and tb == pytest.approx(10 ** (-13.0 / 10))
