"""accept --level full judges the claims at the properties' full depth."""

from __future__ import annotations

import pytest

from blitzbench.claims.properties import DEPTH_ENV, budget
from blitzbench.commands.accept import _claim_depth


@pytest.mark.parametrize(("level", "examples"), [("quick", 7), ("standard", 7),
                                                 ("full", 70)])
def test_only_the_full_level_deepens_the_claims(level, examples, monkeypatch):
    monkeypatch.setenv(DEPTH_ENV, "")  # recorded, so teardown undoes what accept sets
    _claim_depth(level)
    assert budget(7) == examples


def test_a_depth_the_user_set_is_kept(monkeypatch):
    monkeypatch.setenv(DEPTH_ENV, "quick")
    _claim_depth("full")
    assert budget(7) == 7
