"""Claims of the tutorial's 'numpy_bridge' section, on every selected device."""

SECTION = "numpy_bridge"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
