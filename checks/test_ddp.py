"""Claims of the 'ddp' section: the tutorial's step under DistributedDataParallel, judged
in a two-rank world that torchrun starts on this machine."""

SECTION = "ddp"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
