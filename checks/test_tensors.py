"""Claims of the tutorial's 'tensors' section, on every selected device."""

SECTION = "tensors"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
