"""Claims of the tutorial's 'lenet' section, on every selected device."""

SECTION = "lenet"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
