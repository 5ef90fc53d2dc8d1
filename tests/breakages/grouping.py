"""Which breakages share a forked child, so the self-test proves "no other claim fails"
without judging every claim once per breakage.

Judging all 29 forkable claims takes 4-12 s on the 2-core VM; ~100 breakages each judged
alone on every claim cost 11 minutes there under load (664 s, 2026-12-06). The proof splits:

* alone: each breakage in its own child, judging only the claims it must break (they must
  all fail). That child also reads which attributes the breakage replaced
  (fork_judge.patch_points).
* together: breakages that replace no attribute in common form a layer and are applied at
  once; each child of a layer judges the claims none of its breakages aims at (they must
  all pass). Every (breakage, claim it does not aim at) pair is judged in some child, so
  each claim is judged about once per layer: 7 layers for 102 breakages here (2026-12-06;
  7 breakages each replace torch.rand and torch.from_numpy, so no fewer can do).

What "together" cannot show is a patch hiding another's side effect; patches of disjoint
attributes cannot overwrite one another, and the slow test that judges each breakage alone
on every claim (CI) shows even that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from breakages.fork_judge import Job, forkable_claim_ids
from breakages.model import Breakage

__all__ = ["UNBROKEN", "alone_jobs", "layers", "together_jobs", "uncovered"]

#: The key of the job that applies no breakage and judges every forkable claim.
UNBROKEN = "none"


def alone_jobs(breakages: Iterable[Breakage]) -> list[Job]:
    """The unbroken job, then one per breakage: applied alone, judging its forkable aims
    (none for a breakage of fresh-interpreter claims: its child still reads its patch)."""
    forkable = forkable_claim_ids()
    return [Job(UNBROKEN, (), forkable, reads_patches=True),
            *(Job(b.name, (b.name,), b.breaks & forkable, reads_patches=True)
              for b in breakages)]


def layers(breakages: Sequence[Breakage],
           patched: Mapping[str, frozenset[str]]) -> list[tuple[Breakage, ...]]:
    """Breakages in layers whose members replace no attribute in common: first fit, the
    breakages with the most conflicts placed first (Welsh and Powell's order), which keeps
    the layers few."""
    def conflicts(b: Breakage) -> int:
        return sum(bool(patched[b.name] & patched[other.name]) for other in breakages)

    placed: list[list[Breakage]] = []
    for breakage in sorted(breakages, key=lambda b: (-conflicts(b), b.name)):
        layer = next((members for members in placed
                      if all(not patched[breakage.name] & patched[m.name] for m in members)),
                     None)
        if layer is None:
            placed.append(layer := [])
        layer.append(breakage)
    return [tuple(members) for members in placed]


def together_jobs(layered: Sequence[Sequence[Breakage]]) -> list[Job]:
    """Per layer, one job per distinct set of members that leave a claim alone: the claims
    no member aims at share one child; a claim some members aim at is judged under the
    others. Longest first."""
    jobs = []
    for number, layer in enumerate(layered):
        by_members: dict[tuple[str, ...], set[str]] = {}
        for claim in sorted(forkable_claim_ids()):
            members = tuple(b.name for b in layer if claim not in b.breaks)
            if members:
                by_members.setdefault(members, set()).add(claim)
        jobs += [Job(f"layer{number}.{index}", members, frozenset(claims))
                 for index, (members, claims) in enumerate(by_members.items())]
    # the children judging most claims first: two at a time, the short ones fill the end
    return sorted(jobs, key=lambda job: (-len(job.claims), job.key))


def uncovered(breakage: Breakage, jobs: Iterable[Job]) -> frozenset[str]:
    """Forkable claims ``breakage`` does not aim at and no job judges with it applied."""
    judged_with = frozenset().union(*(j.claims for j in jobs if breakage.name in j.breakages))
    return forkable_claim_ids() - breakage.breaks - judged_with
