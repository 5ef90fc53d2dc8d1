"""Claims of the tutorial's 'data' section, on every selected device."""

SECTION = "data"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
