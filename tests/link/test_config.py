"""resolve_params: named sets, TOML files and --set overrides, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from qkdstack.errors import ParameterError
from qkdstack.link.config import resolve_params
from qkdstack.params import PARAM_SETS, LinkParams


def test_precedence_named_then_config_then_set(tmp_path: Path) -> None:
    cfg = tmp_path / "link.toml"
    cfg.write_text(
        'distance_km = 40\nsource = "laser"\nintensities = [0.6, 0.2]\n'
        "intensity_probs = [0.5, 0.5]\n"
    )
    p = resolve_params("gys", ["distance_km=70", "mu=0.3"], cfg)
    assert p.distance_km == 70.0 and p.mu == 0.3 and p.source == "laser"
    assert p.intensities == (0.6, 0.2) and p.intensity_probs == (0.5, 0.5)
    assert p.dark_count_prob == PARAM_SETS["gys"].dark_count_prob


def test_defaults_and_base() -> None:
    assert resolve_params(None, [], None) == LinkParams()
    base = LinkParams(distance_km=3.0)
    assert resolve_params(None, [], None, base=base).distance_km == 3.0
    assert resolve_params(
        None, ["intensities=0.5,0.1", "intensity_probs=0.9,0.1"], None
    ).intensities == (0.5, 0.1)


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(
        ParameterError, match="Unknown parameter 'colour'; known parameters: distance_km"
    ):
        resolve_params(None, ["colour=red"], None)
    with pytest.raises(ParameterError, match="'--params' must be one of gys, lim2014"):
        resolve_params("nope", [], None)
    with pytest.raises(ParameterError, match="'--set' must look like name=value"):
        resolve_params(None, ["distance_km"], None)
    with pytest.raises(ParameterError, match="'distance_km' must be >= 0"):
        resolve_params(None, ["distance_km=-5"], None)
    with pytest.raises(ParameterError, match="existing TOML file"):
        resolve_params(None, [], tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("distance_km = = 3")
    with pytest.raises(ParameterError, match="valid TOML"):
        resolve_params(None, [], bad)
    unknown = tmp_path / "u.toml"
    unknown.write_text("wavelength_nm = 1550\n")
    with pytest.raises(ParameterError, match="Unknown parameter 'wavelength_nm'"):
        resolve_params(None, [], unknown)
    nested = tmp_path / "n.toml"
    nested.write_text("[link]\ndistance_km = 3\n")
    with pytest.raises(
        ParameterError, match=r"top-level 'name = value' pairs, not the table \[link\]"
    ):
        resolve_params(None, [], nested)
