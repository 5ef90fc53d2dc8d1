"""Claims of the tutorial's 'inplace' section, on every selected device."""

SECTION = "inplace"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
