"""Claims of the 'ddp' section: the tutorial's step under DistributedDataParallel, judged
in a two-rank world on this machine (forked from a warm fork server on the CPU, started by
torchrun on GPUs)."""

SECTION = "ddp"


def test_claim(claim, device, judge_claim):
    judge_claim(claim, device)
