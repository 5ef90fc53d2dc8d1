"""``blitzbench accept`` under torchrun, end to end: real torchrun jobs of two ranks on
this machine (one node, or two "nodes" through c10d rendezvous on 127.0.0.1), gloo on
the loopback interface, and their faults, each timed.

Every job is made small by accept's own options, ``-k`` (one claim, one or two cases) and
``--no-profile``, so a job costs the start of torchrun and two interpreters importing
torch, about 10-20 s on the 2-core VM. Faults are planted in the ranks by
tests/job_faults/sitecustomize.py (on PYTHONPATH only here) at a named point, never by a
timer: the rank prints a line and SIGKILLs itself, and the test times the job's end from
the moment that line arrived. The everyday run starts one job (two ranks on one node);
the other jobs (two nodes, and each fault) are slow tests, run by CI (--run-slow).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from blitzbench.cli import main
from blitzbench.distributed import world as world_module
from blitzbench.results.reader import read_run

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
#: One claim and one tiny case: seconds of work per rank.
SMALL = r"tensors\.add_forms|tensor_ops\.add_out\[scale=tutorial"
#: A case long enough to interrupt (the batch-64 LeNet step, 8 repeats: a few seconds).
LONGER = r"tensors\.add_forms|lenet\.train_step\[batch_size=64,variant=eager"
TIMEOUT_S = 10  # --timeout of the fault tests: the bound the job must end within
JOIN_TIMEOUT_S = 3  # rendezvous join_timeout of the missing-node test
KILL_LINE = "blitzbench: planted fault: rank"
JOB_FAULTS = Path(__file__).parent / "job_faults"


@dataclass
class Launched:
    """A torchrun process started in its own session, its output timestamped by line."""

    process: subprocess.Popen[str]
    started: float
    lines: list[tuple[float, str]]
    reader: threading.Thread

    def wait(self, timeout_s: float = 120) -> int:
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            pytest.fail(f"torchrun still running after {timeout_s} s:\n{self.text}")
        self.reader.join(timeout=10)
        self.ended = time.monotonic()
        return self.process.returncode

    @property
    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def when(self, fragment: str) -> float:
        """When the first line containing ``fragment`` arrived."""
        return next(t for t, line in self.lines if fragment in line)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class JobSpec:
    """What a job runs (accept's ``-k`` pattern) and its environment."""

    only: str
    env: dict[str, str]


def _env(only: str = SMALL, **faults: str) -> JobSpec:
    """A small job; ``faults`` (JOB_FAULT_KILL, JOB_FAULT_VERSIONS) put
    tests/job_faults on the ranks' PYTHONPATH."""
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", **faults}
    if faults:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(JOB_FAULTS), os.environ.get("PYTHONPATH")) if p)
    return JobSpec(only, env)


def launch(torchrun_args: list[str], out: Path, job: JobSpec, *accept_args: str) -> Launched:
    command = [*TORCHRUN, *torchrun_args, "-m", "blitzbench", "accept", "--device", "cpu",
               "--out", str(out), "--timeout", str(TIMEOUT_S), "-k", job.only,
               "--no-profile", "--force", "--preflight", "0", *accept_args]
    process = subprocess.Popen(command, env=job.env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic(), line.rstrip()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return Launched(process, time.monotonic(), lines, reader)


def standalone(out: Path, job: JobSpec) -> Launched:
    return launch(["--standalone", "--nproc-per-node=2"], out, job)


def two_nodes(out: Path, job: JobSpec) -> list[Launched]:
    """Two torchrun agents, one rank each, meeting at a c10d rendezvous on 127.0.0.1.

    The second starts once the first serves the rendezvous store, so the first hosts it
    (the job's store lives in the agent that bound the endpoint) and, having the lower
    pid, gets node rank 0 (c10d ranks the nodes by address, then pid): the node a test
    kills a rank on is then never the one whose agent serves the store."""
    port = _free_port()
    args = ["--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d",
            f"--rdzv-endpoint=127.0.0.1:{port}", f"--rdzv-id=test-{port}"]
    first = launch(args, out, job)
    _wait_for_listener(port)
    return [first, launch(args, out, job)]


def _wait_for_listener(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"no rendezvous store on 127.0.0.1:{port} after {timeout_s} s")


def left_behind(marker: Path) -> list[str]:
    """torchrun and blitzbench processes still running for this test's folder."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(marker) in cmdline and process.pid != os.getpid():
            found.append(f"{process.pid}: {cmdline[:120]}")
    return found


def only_run(out: Path):
    """The one run folder under ``out``, read through the one reader."""
    folders = sorted((out / "runs").iterdir())
    assert len(folders) == 1, f"one run folder for the job, found {folders}"
    return read_run(folders[0])


def _verdict_agrees(code: int, results) -> None:
    """The rank exits 0 when accepted, 1 when rejected, 8 when inconclusive (a figure
    noisy), and torchrun's agent turns any rank's non-zero exit into its own 1 (the rank's
    code is in the agent's failure summary). On a shared 2-core machine DDP may scale worse
    while other jobs load the cores: then only that speed rule rejects (its bound is the
    benchmarks' business, not this test's). Two CPU ranks on one host are never failed
    against each other (contention)."""
    codes = {"ACCEPTED": 0, "REJECTED": 1, "INCONCLUSIVE": 1}
    assert code == codes[results.acceptance.verdict]
    failed = {f.rule for f in results.acceptance.findings if f.status == "FAIL"}
    assert failed <= {"ddp-scaling"}


# a torchrun job of two ranks: 18-31 s here (2026-12-06); CI runs it
@pytest.mark.slow
def test_two_ranks_on_one_node_write_one_run_folder(tmp_path):
    out = tmp_path / "reports"
    job = standalone(out, _env(SMALL + r"|collectives\.all_reduce|ddp\.train_step\[batch_size=64"
                                       r"|lenet\.train_step\[batch_size=64,variant=eager"
                                       r"|ddp\.replicas_identical"))
    code = job.wait()
    assert code in (0, 1, 8), job.text
    stored = only_run(out)
    results = stored.results
    _verdict_agrees(code, results)
    assert results.complete and results.job is not None
    assert [(e.rank, e.state) for e in results.job.ranks] == [(0, "finished"), (1, "finished")]
    assert results.job.world_size == 2 and results.job.backend == "gloo"
    assert {e.cores for e in results.job.ranks} == {(0,), (1,)}  # a core each, of two
    placed = {(m.placement.rank, m.placement.local_rank, m.placement.node_rank, m.device)
              for m in results.benchmarks}
    assert placed == {(0, 0, 0, "cpu"), (1, 1, 0, "cpu")}
    raw = json.loads((stored.folder / "results.json").read_text())
    assert {(c["rank"], c["local_rank"], c["node_rank"]) for c in raw["claims"]} == \
        {(0, 0, 0), (1, 1, 0)}
    # the DDP claim judged once, on the job's own 2-rank world, never a world per rank
    (replicas,) = [c for c in results.claims if c.claim == "ddp.replicas_identical"]
    assert replicas.verdict == "HOLDS" and replicas.placement.rank == 0, replicas.summary
    assert replicas.evidence["world_size"] == 2 and replicas.evidence["backend"] == "gloo"
    assert all(row["host"] for row in raw["benchmarks"])
    view = results.job.view
    assert view is not None and {c.rank for c in view.cells} == {0, 1}
    assert all(c.verdict for c in view.cells)  # two ranks of one hardware: compared
    host = results.job.ranks[1].placement.host
    rules = {(f.rule, f.device) for f in results.acceptance.findings}
    assert ("claims-as-expected", f"cpu (rank 1 on {host})") in rules
    assert any(rule == "ranks-uniform" for rule, _ in rules)
    report = (stored.folder / "report.md").read_text()
    assert "## Ranks" in report and "### Rank x metric" in report
    # the world's own family: measured by both ranks at once, recorded once, on rank 0
    collectives = [m for m in results.benchmarks if m.benchmark == "collectives.all_reduce"]
    assert [m.params["size"] for m in collectives] == [8, 1024, 65536, 1 << 20]
    assert {(m.placement.rank, m.params["world_size"]) for m in collectives} == {(0, 2)}
    assert all(m.extra["wrong"] == 0 and len(m.times_s) == 20 for m in collectives)
    correct = {f.status for f in results.acceptance.findings
               if f.rule == "collectives-correct"}
    assert correct == {"PASS"}
    (ddp,) = [m for m in results.benchmarks if m.benchmark == "ddp.train_step"]
    assert ddp.params == {"batch_size": 64, "world_size": 2} and ddp.placement.rank == 0
    assert 0 < ddp.extra["scaling_efficiency"] < 1.5
    assert "rank 0 alone" in ddp.extra["efficiency_reference"]
    assert len(ddp.extra["scaling_efficiency_rounds"]) == len(ddp.times_s)
    scaling = [f for f in results.acceptance.findings if f.rule == "ddp-scaling"]
    assert len(scaling) == 1 and scaling[0].status in {"PASS", "FAIL", "NOISY"}
    print(f"2 ranks, 1 node: {job.ended - job.started:.1f} s")


@pytest.mark.slow  # 19-32 s here under load 4-5 (2026-12-06): two torchrun agents
def test_two_nodes_write_one_run_folder_naming_both(tmp_path):
    out = tmp_path / "reports"
    jobs = two_nodes(out, _env())
    codes = [job.wait() for job in jobs]
    assert set(codes) <= {0, 1}, "\n\n".join(job.text for job in jobs)
    results = only_run(out).results
    _verdict_agrees(max(codes), results)
    assert results.complete and results.job.nodes == 2
    assert {(e.rank, e.placement.node_rank) for e in results.job.ranks} == {(0, 0), (1, 1)}
    assert {m.placement.node_rank for m in results.benchmarks} == {0, 1}
    print(f"2 nodes: {max(j.ended for j in jobs) - min(j.started for j in jobs):.1f} s")


@pytest.mark.slow  # 12-25 s here under load 4-5 (2026-12-06)
def test_a_rank_killed_in_the_gather_ends_the_job_within_the_timeout(tmp_path):
    """Rank 1 dies as rank 0 waits in the gather collective: torchrun stops rank 0, which
    keeps its folder, incomplete, naming rank 1; exit 1 well within --timeout."""
    out = tmp_path / "reports"
    job = standalone(out, _env(JOB_FAULT_KILL="1:gather"))
    assert job.wait() == 1, job.text
    after_death = job.ended - job.when(KILL_LINE)
    assert after_death < TIMEOUT_S, job.text
    results = only_run(out).results
    assert not results.complete and not results.interrupted
    assert [(e.rank, e.state) for e in results.job.ranks] == [(0, "stopped"), (1, "dead")]
    assert results.job.failure.startswith("rank 1 on ")
    line = next(line for _, line in job.lines if line.startswith("blitzbench: error:"))
    assert "rank 1 on" in line and "died" in line and "run folder (incomplete)" in line
    assert not left_behind(out)
    print(f"rank killed in the gather: the job ended {after_death:.1f} s after its death")


@pytest.mark.slow  # 15-27 s here under load 4-5 (2026-12-06)
def test_a_rank_dying_on_another_node_ends_the_job_on_both_within_the_timeout(tmp_path):
    """Rank 1 (node 1) dies mid-run; its agent ends node 1 at once. Node 0 learns it either
    from its own agent (which stops rank 0 once node 1's agent has left the rendezvous) or
    from rank 0's heartbeat watch, whichever comes first (both were seen here): exit 1 on
    both nodes within --timeout of the death, rank 1 named dead either way."""
    out = tmp_path / "reports"
    jobs = two_nodes(out, _env(JOB_FAULT_KILL="1:claims"))
    codes = [job.wait() for job in jobs]
    assert codes == [1, 1], "\n\n".join(job.text for job in jobs)
    died = min(job.when(KILL_LINE) for job in jobs if KILL_LINE in job.text)
    after_death = max(job.ended for job in jobs) - died
    assert after_death < TIMEOUT_S, "\n\n".join(job.text for job in jobs)
    results = only_run(out).results
    assert not results.complete
    dead = [(e.rank, e.placement.node_rank) for e in results.job.ranks if e.state == "dead"]
    assert dead == [(1, 1)]
    assert results.job.failure.startswith("rank 1 on ")
    assert ("stopped beating" in results.job.failure
            or "stopped by torchrun" in results.job.failure)
    assert not left_behind(out)
    print(f"rank dead on another node: the job ended {after_death:.1f} s after its death "
          f"({'heartbeat' if 'beating' in results.job.failure else 'torchrun'})")


@pytest.mark.slow  # 17-18 s here under load 4-5 (2026-12-06)
def test_rank_0_killed_leaves_torchrun_s_own_report_and_no_process(tmp_path):
    out = tmp_path / "reports"
    job = standalone(out, _env(JOB_FAULT_KILL="0:claims"))
    assert job.wait() == 1, job.text
    after_death = job.ended - job.when(KILL_LINE)
    assert "Signal 9 (SIGKILL) received by PID" in job.text
    assert "rank      : 0 (local_rank: 0)" in job.text, job.text
    assert after_death < TIMEOUT_S and not left_behind(out)
    assert not only_run(out).results.complete  # rank 0 never finished its folder
    print(f"rank 0 killed: torchrun ended {after_death:.1f} s after its death")


@pytest.mark.slow  # 7 s here under load 4 (2026-12-06)
def test_a_node_that_never_joins_ends_at_the_rendezvous_timeout(tmp_path):
    """One of two nodes: torchrun's agent gives up after join_timeout with
    RendezvousTimeoutError as its last line and exit 1; no rank ever starts, so
    blitzbench writes nothing and can add nothing (no launcher of its own)."""
    out = tmp_path / "reports"
    (job, *_) = [launch(["--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d",
                         f"--rdzv-endpoint=127.0.0.1:{_free_port()}",
                         f"--rdzv-conf=join_timeout={JOIN_TIMEOUT_S}"], out, _env())]
    assert job.wait() == 1, job.text
    elapsed = job.ended - job.started
    assert job.lines[-1][1] == "torch.distributed.elastic.rendezvous.api.RendezvousTimeoutError"
    assert JOIN_TIMEOUT_S <= elapsed < JOIN_TIMEOUT_S + 15
    assert not out.exists() and not left_behind(out)
    print(f"node never joined: torchrun ended after {elapsed:.1f} s "
          f"(join_timeout {JOIN_TIMEOUT_S} s)")


@pytest.mark.slow  # 13 s here under load 4 (2026-12-06)
def test_ranks_with_different_versions_are_refused_before_any_run_folder(tmp_path):
    out = tmp_path / "reports"
    env = _env(JOB_FAULT_VERSIONS='1:{"torch": "9.9.9"}')
    job = standalone(out, env)
    assert job.wait() == 1, job.text
    errors = [line for _, line in job.lines if line.startswith("blitzbench: error:")]
    assert len(errors) == 1, job.text  # rank 0 says it once
    assert "torch 9.9.9 on rank 1" in errors[0] and " on rank 0 (" in errors[0]
    assert "exitcode  : 7" in job.text  # the ranks' own exit code, in torchrun's report
    assert not out.exists() and not left_behind(out)


@pytest.mark.slow  # 10-15 s here under load 4-5 (2026-12-06)
def test_ctrl_c_on_the_launcher_leaves_no_process(tmp_path):
    out = tmp_path / "reports"
    job = standalone(out, _env(only=LONGER))
    deadline = time.monotonic() + 60
    while not list((out / "runs").glob("*/results.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # into the measurements
    assert job.process.poll() is None, "the job ended before it could be interrupted"
    os.killpg(job.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
    interrupted = time.monotonic()
    job.wait(timeout_s=30)
    after = job.ended - interrupted
    assert after < 10 and not left_behind(out), job.text
    results = only_run(out).results
    assert results.interrupted and not results.complete
    assert {e.state for e in results.job.ranks} == {"stopped"}
    print(f"Ctrl-C: torchrun and both ranks gone {after:.1f} s after SIGINT")


def test_more_ranks_than_gpus_is_exit_4_naming_both_numbers(tmp_path, monkeypatch, capsys):
    """In-process, as rank 0 of torchrun --nproc-per-node=4 on a node of 2 GPUs (faked):
    refused before the process group or any run folder."""
    for key, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "4",
                       "LOCAL_WORLD_SIZE": "4", "GROUP_RANK": "0"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(world_module, "_gpu_count", lambda: 2)
    out = tmp_path / "reports"
    assert main(["accept", "--out", str(out)]) == 4
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--nproc-per-node=4" in err and "2 GPU(s)" in err
    assert not out.exists()


def test_the_slurm_script_starts_torchrun_on_every_node_at_the_first_one(tmp_path):
    """scripts/slurm-accept.sbatch with srun and scontrol stood in for (it has not run on
    a cluster): one torchrun per node, c10d rendezvous at the first node of the list."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text('#!/bin/sh\n[ "$1 $2 $3" = "show hostnames gpu[07-08]" ]'
                                      ' && printf "gpu07\\ngpu08\\n"\n')
    (bin_dir / "srun").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/srun.args\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "SLURM_JOB_NODELIST": "gpu[07-08]", "SLURM_JOB_NUM_NODES": "2",
           "SLURM_JOB_ID": "4242", "SLURM_GPUS_ON_NODE": "8", "REPORTS": "/shared/reports"}
    script = Path(__file__).parents[1] / "scripts" / "slurm-accept.sbatch"
    done = subprocess.run(["bash", str(script), "--level", "full"], env=env,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    args = (tmp_path / "srun.args").read_text().splitlines()
    assert args[:3] == ["--kill-on-bad-exit=1", "--ntasks-per-node=1", "python3"]
    assert args[3:] == [
        "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=8",
        "--rdzv-backend=c10d", "--rdzv-endpoint=gpu07:29500", "--rdzv-id=blitzbench-4242",
        "--rdzv-conf=join_timeout=600", "-m", "blitzbench", "accept",
        "--out", "/shared/reports", "--level", "full"]
