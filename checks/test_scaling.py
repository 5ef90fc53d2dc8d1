"""Claims of the tutorial's 'scaling' section, on every selected device."""

SECTION = "scaling"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
