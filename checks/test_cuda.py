"""Claims of the tutorial's 'cuda' section, on every selected device."""

SECTION = "cuda"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
