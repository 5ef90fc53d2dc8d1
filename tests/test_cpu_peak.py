"""The CPU's computed fp32 peak (timing/cpu_peak.py) on recorded /proc/cpuinfo texts
(tests/cpuinfo/README.md says where each comes from), and what a rule does with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from blitzbench.timing import rates
from blitzbench.timing.cpu_peak import (
    CpuPeak,
    NoCpuPeak,
    count_physical_cores,
    cpu_peak,
    read_max_freq_khz,
)

CPUINFO = Path(__file__).parent / "cpuinfo"
ZEN4_MHZ = 2596.138  # tests/cpuinfo/epyc_zen4_kvm.txt's "cpu MHz"


def recorded(name: str) -> str:
    return (CPUINFO / name).read_text()


def test_avx512_and_fma_on_a_zen4_guest_count_256_bit_units_at_the_announced_clock():
    peak = cpu_peak(recorded("epyc_zen4_kvm.txt"), {0, 1})
    assert isinstance(peak, CpuPeak)
    # avx512f: 16 lanes x 2 (FMA) x 1 512-bit FMA per cycle (two 256-bit pipes)
    assert (peak.cores, peak.vector_bits, peak.fma_per_cycle, peak.flop_per_cycle) == \
        (2, 512, 1, 32)
    assert peak.clock_ghz == pytest.approx(ZEN4_MHZ / 1000)
    assert peak.tflop_per_s == pytest.approx(2 * ZEN4_MHZ * 1e6 * 32 / 1e12)
    assert "Zen 4" in peak.cpu and "TSC rate" in peak.clock_source
    assert "57647" in peak.describe() and "0.166 TFLOP/s" in peak.describe()


def test_the_cores_are_those_this_process_may_run_on():
    peak = cpu_peak(recorded("epyc_zen4_kvm.txt"), {1})
    assert isinstance(peak, CpuPeak) and peak.cores == 1


def test_avx2_and_fma_on_a_haswell_guest_count_two_256_bit_units():
    peak = cpu_peak(recorded("xeon_e5_2699v3_kvm.txt"), {0, 1})
    assert isinstance(peak, CpuPeak)
    assert (peak.cores, peak.vector_bits, peak.fma_per_cycle, peak.flop_per_cycle) == \
        (2, 256, 2, 32)
    assert peak.tflop_per_s == pytest.approx(2 * 2.299998e9 * 32 / 1e12)
    assert "Haswell" in peak.cpu and "248966" in peak.source


def test_sysfs_max_freq_is_the_clock_where_the_kernel_has_cpufreq():
    peak = cpu_peak(recorded("xeon_e5_2699v3_kvm.txt"), {0, 1}, {0: 3_600_000, 1: 3_600_000})
    assert isinstance(peak, CpuPeak)
    assert peak.clock_ghz == pytest.approx(3.6) and "cpuinfo_max_freq" in peak.clock_source


@pytest.mark.parametrize(("name", "reason"), [
    ("qemu_virtual_cpu_no_avx.txt", "no AVX and no FMA"),
    ("ryzen7_2700x_kvm_no_fma.txt", "AVX but no FMA"),
    ("armv7_bcm2709.txt", "x86 only"),
])
def test_flags_without_fma_or_without_x86_flags_give_no_peak(name, reason):
    peak = cpu_peak(recorded(name), {0, 1})
    assert isinstance(peak, NoCpuPeak) and reason in peak.reason


@pytest.mark.parametrize("mhz_line", ["cpu MHz\t\t: 0.000\n", ""])
def test_an_unreadable_clock_gives_no_peak(mhz_line):
    """``cpu MHz: 0.000`` is what a QEMU 2.5+ guest without a TSC rate reports."""
    text = recorded("epyc_zen4_kvm.txt").replace(f"cpu MHz\t\t: {ZEN4_MHZ}\n", mhz_line)
    peak = cpu_peak(text, {0, 1})
    assert isinstance(peak, NoCpuPeak) and "clock unreadable" in peak.reason


def test_a_core_design_not_in_the_table_gives_no_peak():
    text = recorded("epyc_zen4_kvm.txt").replace("cpu family\t: 25", "cpu family\t: 26")
    peak = cpu_peak(text, {0, 1})
    assert isinstance(peak, NoCpuPeak)
    assert "family 26 model 17" in peak.reason and "not in blitzbench's table" in peak.reason


def test_skylake_sp_avx512_units_depend_on_the_sku_but_its_avx2_units_do_not():
    skylake = recorded("xeon_e5_2699v3_kvm.txt").replace("model\t\t: 63", "model\t\t: 85")
    with_avx512 = skylake.replace(" avx2 ", " avx2 avx512f ")
    peak = cpu_peak(with_avx512, {0, 1})
    assert isinstance(peak, NoCpuPeak) and "SKU" in peak.reason
    avx2 = cpu_peak(skylake, {0, 1})
    assert isinstance(avx2, CpuPeak) and avx2.flop_per_cycle == 32


def test_smt_siblings_count_as_one_core():
    text = recorded("xeon_l5640_ht.txt")  # processors 12, 13 are siblings of 0, 1
    assert count_physical_cores(text, {0, 1, 12, 13}) == 2
    assert count_physical_cores(text, {0, 12}) == 1
    assert count_physical_cores(recorded("armv7_bcm2709.txt"), {0, 1}) == 2  # no core ids


def test_sysfs_max_freq_is_read_where_present(tmp_path):
    (tmp_path / "cpu0" / "cpufreq").mkdir(parents=True)
    (tmp_path / "cpu0" / "cpufreq" / "cpuinfo_max_freq").write_text("3700000\n")
    (tmp_path / "cpu1").mkdir()
    assert read_max_freq_khz({0, 1}, tmp_path) == {0: 3_700_000.0}


ZEN4_PEAK = CpuPeak("AMD EPYC (Zen 4)", 2, ZEN4_MHZ / 1000, "cpu MHz", 512, 1, "pub. 57647")


def test_cpu_fp32_flop_get_a_fraction_of_the_computed_peak(monkeypatch):
    monkeypatch.setattr(rates, "read_cpu_peak", lambda: ZEN4_PEAK)
    figures = rates.derived_rates({"flop": 2.0 * 512 ** 3}, {"dtype": "float32"}, "cpu",
                                  1.4e-3)
    assert figures["fraction_of_peak"] == pytest.approx(
        2.0 * 512 ** 3 / 1.4e-3 / 1e12 / ZEN4_PEAK.tflop_per_s)
    assert figures["peak"].startswith("AMD EPYC (Zen 4): 2 cores")
    other = rates.derived_rates({"flop": 1e9}, {"dtype": "bfloat16"}, "cpu", 1e-3)
    assert "fraction_of_peak" not in other and "float32 peak only" in other["peak"]


def test_no_peak_leaves_the_reason_and_no_fraction(monkeypatch):
    monkeypatch.setattr(rates, "read_cpu_peak", lambda: NoCpuPeak("clock unreadable: x"))
    figures = rates.derived_rates({"flop": 1e9}, {"dtype": "float32"}, "cpu", 1e-3)
    assert "fraction_of_peak" not in figures
    assert figures["peak"] == "no computed CPU peak: clock unreadable: x"
