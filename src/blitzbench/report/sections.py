"""What a report says about a run: the blocks, section by section, from results.json."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from blitzbench.report.ab import ab_blocks
from blitzbench.report.benchmarks import benchmark_blocks
from blitzbench.report.claims_table import by_claim
from blitzbench.report.collectives import collectives_blocks
from blitzbench.report.document import (
    Block,
    Cell,
    Document,
    Figure,
    Heading,
    LinkList,
    Paragraph,
    Table,
    Verdict,
)
from blitzbench.report.formatting import MISSING, fmt_bytes, fmt_duration_s, fmt_value
from blitzbench.report.instructions import instruction_blocks
from blitzbench.report.loader_findings import loader_finding_blocks
from blitzbench.report.locations import Place
from blitzbench.report.loop_bounds import loop_bound_blocks
from blitzbench.report.profiles import profile_blocks
from blitzbench.report.ranks import rank_blocks
from blitzbench.report.run_time import run_time_blocks
from blitzbench.report.tones import STATUS_TONES, VERDICT_TONES
from blitzbench.report.tutorial_blocks import tutorial_blocks
from blitzbench.results.names import COLLECTIVES
from blitzbench.results.records import AcceptanceRecord, ClaimCell, Finding, RunResults

__all__ = ["ACCEPTANCE_HEADER", "STATUS_TONES", "VERDICT_TONES", "bound_text",
           "build_document"]

ENVIRONMENT_FIELDS = (("host", "host"), ("cpu", "CPU"), ("cpu_count", "CPU cores"),
                      ("platform", "platform"), ("python", "Python"), ("torch", "torch"),
                      ("torchvision", "torchvision"), ("numpy", "numpy"),
                      ("torch_threads", "torch threads"), ("torch_cuda_build", "CUDA build"),
                      ("cudnn", "cuDNN"), ("tf32_matmul", "TF32 matmul"),
                      ("tf32_cudnn", "TF32 cuDNN"))
#: status first: at 800 px the verdict of each rule stays in view (issue 12).
ACCEPTANCE_HEADER = ("status", "rule", "device", "measured", "bound", "metric", "detail")
#: acceptance/rules.py's Status enum order, as the terminal counts.
STATUS_ORDER = ("PASS", "FAIL", "MISSING", "INCONCLUSIVE", "NOISY", "SKIPPED")


def build_document(results: RunResults, figures: Sequence[Figure],
                   place: Place | None = None) -> Document:
    """Every section that has data, in the order a reader wants them: the verdict first,
    then where the run happened (a torchrun job's ranks, the environment), then the
    evidence, last what the run cost in time. Paths and links are resolved at ``place``."""
    place = place or Place()
    rows = results.benchmarks
    evidence: list[Block] = [*ab_blocks(results.ab), *_claim_blocks(results.claims),
                             *tutorial_blocks(results.tutorial, place)]
    if figures:
        evidence += [Heading(2, "Plots", "plots"), *figures]
    evidence += loop_bound_blocks(rows)
    evidence += loader_finding_blocks(rows)
    evidence += benchmark_blocks([r for r in rows if r.family != COLLECTIVES])
    evidence += instruction_blocks(results.instructions)
    evidence += collectives_blocks(rows)  # nccl-tests' own columns, not the generic table
    evidence += profile_blocks(results.profiles, place)
    evidence += run_time_blocks(results)
    verdict = _acceptance_blocks(results.acceptance, place)
    if not evidence and not verdict:
        evidence.append(Paragraph("This run recorded no claims, benchmarks, profiles or "
                                  "acceptance verdict.", "warn"))
    blocks = [*_status_blocks(results), *verdict, *_comparison_blocks(place),
              *rank_blocks(results.job),
              *_environment_blocks(results, place), *evidence]
    title = f"blitzbench {results.command or '?'}: {results.run_id}"
    subtitle = (f"blitzbench {results.blitzbench or '?'}, started "
                f"{results.started or MISSING}, finished {results.finished or MISSING}")
    return Document(title, subtitle, tuple(blocks))


def _comparison_blocks(place: Place) -> list[Block]:
    """Links to this run's comparisons with a baseline (``report --against``)."""
    pages = place.comparison_pages()
    if not pages:
        return []
    return [Heading(2, "Comparisons", "comparisons"),
            LinkList(tuple((f"this run against {page.removeprefix('compare-')[:-5]}, "
                            f"figure by figure", page) for page in pages))]


def _status_blocks(results: RunResults) -> list[Block]:
    if results.interrupted:
        return [Paragraph("This run was interrupted: the report shows what finished before "
                          "the interruption.", "warn")]
    if not results.complete:
        return [Paragraph("This run is incomplete (still running, or stopped without "
                          "saying so): the report shows what was saved.", "warn")]
    return []


def _acceptance_blocks(acceptance: AcceptanceRecord | None, place: Place) -> list[Block]:
    if acceptance is None:
        return []
    facts = [f"level {acceptance.level}"] if acceptance.level else []
    if acceptance.spec:
        facts.append(f"spec {place.show(acceptance.spec)}")
    if acceptance.baseline:
        facts.append(f"baseline {place.show(acceptance.baseline)}")
    if acceptance.wall_s is not None:
        facts.append(f"the run took {fmt_duration_s(acceptance.wall_s)}")
    rows = tuple(_rule_cells(r) for r in acceptance.findings)
    return [Heading(2, "Acceptance verdict", "acceptance"),
            Verdict(acceptance.verdict, acceptance.counts or _counts(acceptance.findings),
                    "; ".join(facts), STATUS_TONES.get(acceptance.verdict, ""),
                    tuple(acceptance.notes)),
            Table(ACCEPTANCE_HEADER, rows)]


def _counts(findings: Sequence[Finding]) -> str:
    """``11 PASS, 7 SKIPPED`` as the terminal prints it, for records that did not keep it."""
    found = Counter(f.status for f in findings)
    return ", ".join(f"{found[s]} {s}" for s in STATUS_ORDER if found[s])


def bound_text(rule: Finding) -> str:
    """The bound as the terminal words it (acceptance/spec.py ``Rule.describe_bound``), for
    records written before ``bound_text`` was kept: ``as expected``, ``>= 0.85 of peak``,
    ``<= 15% slower than baseline``, ``>= 20 GB/s``."""
    if rule.bound_text:
        return rule.bound_text
    bound = f"{rule.bound:g}" if rule.bound is not None else MISSING  # as spec.py's _fmt
    if rule.bound_kind == "peak_fraction":
        return f"{rule.op} {bound} of peak"
    if rule.bound_kind == "baseline":
        return f"{rule.op} {bound}% slower than baseline"
    if rule.op == "==" and rule.metric.startswith("claims."):
        return "as expected" if rule.bound == 1 else "not as expected"
    if rule.op == "==" and rule.metric.startswith("tutorial."):
        return "every block runs" if rule.bound == 1 else "some block fails"
    return f"{rule.op} {bound}{' ' + rule.unit if rule.unit else ''}".strip()


def _rule_cells(rule: Finding) -> tuple[Cell, ...]:
    measured = rule.shown or fmt_value(rule.measured)
    if not rule.shown and rule.unit and rule.measured is not None:
        measured += f" {rule.unit}"
    return (Cell(rule.status, STATUS_TONES.get(rule.status, "")), Cell(rule.rule, code=True),
            Cell(rule.device), Cell(measured), Cell(bound_text(rule)),
            Cell(rule.metric, code=True), Cell(rule.detail))


def _environment_blocks(results: RunResults, place: Place) -> list[Block]:
    env = results.environment.facts
    rows = [(Cell(label), Cell(_fact(env.get(key)))) for key, label in ENVIRONMENT_FIELDS
            if key in env]
    for gpu in env.get("gpus") or []:
        if isinstance(gpu, Mapping):
            rows.append((Cell(f"GPU {gpu.get('index', '?')}"), Cell(_gpu_text(gpu))))
    if not env.get("gpus"):
        rows.append((Cell("GPUs"), Cell("none found", "muted")))
    return [Heading(2, "Environment", "environment"), Paragraph(_data_text(results, place)),
            Table(("fact", "value"), tuple(rows))]


def _fact(value: Any) -> str:
    """Versions and counts as recorded (cuDNN 92400 stays 92400)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return fmt_value(value)


def _gpu_text(gpu: Mapping[str, Any]) -> str:
    return (f"{gpu.get('name', '?')}, compute capability {gpu.get('capability', '?')}, "
            f"{fmt_bytes(gpu.get('memory_bytes'))}, {gpu.get('multiprocessors', '?')} SMs, "
            f"driver {gpu.get('driver') or '?'}")


def _data_text(results: RunResults, place: Place) -> str:
    source = results.data_source
    if source is None:
        return "Data set: none recorded for this run."
    if source.get("kind") == "synthetic":
        return (f"Data set: synthetic CIFAR-10 in the real on-disk format (not the real "
                f"images), at `{place.show(source.get('root'))}` on the measuring machine.")
    return f"Data set: real CIFAR-10 at `{place.show(source.get('root'))}`."


def _claim_blocks(cells: Sequence[ClaimCell]) -> list[Block]:
    devices, rows = by_claim(cells)
    if not rows:
        return []
    cells = []
    for claim_id, by_device in rows.items():
        first = next(iter(by_device.values()))
        verdicts = [_verdict_cell(by_device.get(d)) for d in devices]
        cells.append((Cell(claim_id, code=True), Cell(first.expected), *verdicts,
                      Cell(first.summary)))
    failed = sum(not c.passed for by in rows.values() for c in by.values())
    total = sum(len(by) for by in rows.values())
    return [Heading(2, "Claim matrix", "claims"),
            Paragraph(f"{total} cells, {failed} not as expected.",
                      "bad" if failed else "good"),
            Table(("claim", "expected", *devices, "evidence"), tuple(cells))]


def _verdict_cell(cell: ClaimCell | None) -> Cell:
    if cell is None:
        return Cell("n/a", "muted")
    return Cell(cell.mark, VERDICT_TONES.get(cell.verdict, "") if cell.passed else "bad")
