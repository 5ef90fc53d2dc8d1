"""blitzbench's pytest plugin (entry point ``pytest11``): the ``--device`` and
``--data-root`` options, claim x device parametrization, and the claim matrix printed at
the end of ``pytest checks``.

Registered by the package, so ``pytest checks`` works wherever blitzbench is installed.
torch is imported inside the hooks, not at plugin load, so unrelated pytest runs in the
same environment do not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import torch

    from blitzbench.claims.model import Claim
    from blitzbench.claims.runner import MatrixCell
    from blitzbench.workloads.cifar import DataSource

_CELLS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blitzbench")
    group.addoption("--device", default="all", metavar="DEVICE",
                    help="devices to run on: all (default: CPU and CUDA, CUDA cases skip "
                         "without a GPU), cpu, cuda, cuda:N")
    group.addoption("--data-root", default=None, metavar="DIR",
                    help="folder holding cifar-10-batches-py/ (default: synthetic CIFAR-10 "
                         "in the real on-disk format)")
    group.addoption("--blitz-depth", default=None, choices=("quick", "full"),
                    help="example budget of the claims judged as properties: quick (default) "
                         "or full (10x; sets BLITZBENCH_DEPTH, as accept --level full may)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CELLS] = []
    depth = config.getoption("--blitz-depth", None)
    if depth:  # read by blitzbench.claims.properties (kept light: no torch here)
        import os

        os.environ["BLITZBENCH_DEPTH"] = depth


def selected_devices(config: pytest.Config) -> list[torch.device]:
    """Devices from ``--device``; a device name that cannot exist is a usage error."""
    from blitzbench.devices import parse_devices
    from blitzbench.errors import BlitzError

    try:
        return parse_devices(config.getoption("--device"), strict=False)
    except BlitzError as exc:
        raise pytest.UsageError(str(exc)) from None


def device_param(device: torch.device, *values: Any, id_prefix: str = "") -> Any:
    """A pytest.param for ``device``, skipped with a reason when it is not usable here."""
    from blitzbench.devices import cuda_available, device_label

    label = device_label(device)
    marks = []
    if device.type == "cuda":
        marks.append(pytest.mark.cuda)
        if not cuda_available():
            marks.append(pytest.mark.skip(reason="no CUDA device: torch.cuda.is_available() "
                                                 "is False on this machine"))
        elif (device.index or 0) >= _cuda_count():
            marks.append(pytest.mark.skip(reason=f"{label} does not exist here"))
    return pytest.param(*values, device, id=f"{id_prefix}{label}", marks=marks)


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "claim" in metafunc.fixturenames and "device" in metafunc.fixturenames:
        _parametrize_claims(metafunc)
    elif "device" in metafunc.fixturenames and not _parametrized_by_test(metafunc, "device"):
        devices = selected_devices(metafunc.config)
        metafunc.parametrize("device", [device_param(d) for d in devices])


def _parametrized_by_test(metafunc: pytest.Metafunc, name: str) -> bool:
    """True when the test parametrizes ``name`` itself (then the plugin leaves it alone)."""
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if name in names:
            return True
    return False


def _parametrize_claims(metafunc: pytest.Metafunc) -> None:
    from blitzbench.claims import ALL_CLAIMS, claims_in_section
    from blitzbench.claims.runner import applies

    section = getattr(metafunc.module, "SECTION", None)
    claims = claims_in_section(section) if section else ALL_CLAIMS
    devices = selected_devices(metafunc.config)
    params = [device_param(d, claim, id_prefix=f"{claim.id}-")
              for claim in claims for d in devices if applies(claim, d)]
    metafunc.parametrize(("claim", "device"), params)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the selected claims' background set-up (the ddp claim's fork server) before
    the first test runs, so it overlaps the other claims instead of adding to them."""
    cells = [(item.callspec.params["claim"], item.callspec.params["device"])
             for item in session.items
             if "claim" in getattr(getattr(item, "callspec", None), "params", {})]
    if cells and not session.config.option.collectonly:
        from blitzbench.claims.runner import warm_up

        warm_up(cells)


@pytest.fixture(scope="session")
def data_source(pytestconfig: pytest.Config) -> DataSource:
    """CIFAR-10 for this session: ``--data-root`` or the synthetic set."""
    from blitzbench.errors import BlitzError
    from blitzbench.workloads.cifar import resolve_data_source

    try:
        return resolve_data_source(pytestconfig.getoption("--data-root"))
    except BlitzError as exc:
        pytest.exit(str(exc), returncode=exc.exit_code)


@pytest.fixture
def judge_claim(request: pytest.FixtureRequest, data_source: DataSource):
    """Judge a claim on a device, record the cell, and fail unless the observed verdict is
    the expected one. A SKIPPED verdict (data or device absent) skips with its reason."""
    from blitzbench.claims.model import Verdict
    from blitzbench.claims.runner import MatrixCell, evaluate
    from blitzbench.devices import device_label

    def judge(claim: Claim, device: torch.device) -> MatrixCell:
        outcome = evaluate(claim, device, data_source)
        cell = MatrixCell(claim, device_label(device), outcome)
        request.config.stash[_CELLS].append(cell)
        request.node.user_properties.append(("verdict", outcome.verdict.value))
        request.node.user_properties.append(("evidence", outcome.summary))
        if outcome.verdict is Verdict.SKIPPED:
            pytest.skip(outcome.summary)
        assert outcome.verdict is claim.expected, (
            f"{claim.id} on {cell.device}: expected {claim.expected.value}, observed "
            f"{outcome.verdict.value}: {outcome.summary}\nevidence: {dict(outcome.evidence)}")
        return cell

    return judge


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    cells: list[MatrixCell] = config.stash.get(_CELLS, [])
    if not cells:
        return
    from blitzbench.report.claims_table import matrix_lines

    terminalreporter.section("blitzbench claim matrix")
    for line in matrix_lines([cell.record() for cell in cells]):
        terminalreporter.write_line(line)
