"""Claims of the tutorial's 'autograd' section, on every selected device."""

SECTION = "autograd"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
