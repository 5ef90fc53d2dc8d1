"""The nominal fp32 peak of this machine's CPU cores, computed from what the CPU says.

The GPU peaks (timing/peaks.py) come from datasheets; a CPU's depends on how many cores a
process may use and at what clock, so it is computed::

    peak FLOP/s = cores x clock x FLOP per cycle per core
    FLOP per cycle = fp32 lanes of the widest vector ISA the flags show
                     (avx512f: 16, avx2 with fma: 8)
                   x 2 (an FMA is a multiply and an add: the ``fma`` flag)
                   x FMA instructions issued per cycle at that width

- **cores**: the physical cores this process may run on (``sched_getaffinity``, SMT
  siblings counted once through /proc/cpuinfo's ``physical id`` and ``core id``): two
  hardware threads share one core's FMA units.
- **clock**: sysfs ``cpufreq/cpuinfo_max_freq`` where the kernel has a cpufreq driver (the
  highest clock it may set, boost included where enabled), else /proc/cpuinfo's
  ``cpu MHz``. On a KVM guest (flag ``hypervisor``, no cpufreq) that line is the TSC rate
  the host announced (flag ``tsc_known_freq``), the host's nominal clock: the guest cannot
  see boost, so a core that boosts runs a GEMM *above* this peak and the fraction can
  exceed 1. On the project's 2-vCPU EPYC guest (2.596 GHz announced) one thread ran a
  1024^3 fp32 matmul at 100 GFLOP/s, 1.2x the 83 GFLOP/s per core this formula gives
  (measured 2026-12-06, torch 2.14.1 with MKL, machine quiet at that moment).
- **FMA issues per cycle** are not in the flags: Zen 4 shows ``avx512f`` but runs a 512-bit
  FMA on two 256-bit units (one per cycle, as two 256-bit ones), Skylake-SP has one or two
  512-bit FMA units by SKU. They come from :data:`CORE_DESIGNS`, matched by vendor, CPU
  family and model from /proc/cpuinfo, each with its source.

Anything unreadable or unlisted (no flags line, no AVX2/FMA, no clock, a core design not
in the table, an SKU-dependent unit count) gives a :class:`NoCpuPeak` with the reason: the
rule that needs the peak is SKIPPED with it, never judged against a guess.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CORE_DESIGNS", "CPUINFO_PATH", "CoreDesign", "CpuPeak", "NoCpuPeak",
           "count_physical_cores", "cpu_peak", "read_cpu_peak", "read_max_freq_khz",
           "usable_cpus", "usable_physical_cores"]

CPUINFO_PATH = Path("/proc/cpuinfo")
SYSFS_CPU = Path("/sys/devices/system/cpu")
FP32_BITS = 32
FMA_FLOP = 2  # a fused multiply-add is two floating-point operations
KHZ_PER_GHZ = 1e6
MHZ_PER_GHZ = 1e3
GIGA = 1e9
TERA = 1e12

AMD_17H = ("AMD, Software Optimization Guide for AMD Family 17h Processors (pub. 55723), "
           "floating-point unit: two 128-bit FMA pipes (FP0, FP1)")
AMD_ZEN2 = ("AMD, Software Optimization Guide for AMD EPYC 7002 Processors (pub. 56305): "
            "two 256-bit FMA pipes")
AMD_ZEN3 = ("AMD, Software Optimization Guide for AMD Family 19h Processors (pub. 56665): "
            "two 256-bit FMA pipes")
AMD_ZEN4 = ("AMD, Software Optimization Guide for the AMD Zen4 Microarchitecture (pub. "
            "57647): two 256-bit FMA pipes; A. J. Yee, numberworld.org/blogs/"
            "2024_8_7_zen5_avx512_teardown: Zen 4 runs 512-bit instructions on its 256-bit "
            "hardware (\"double-pumping\")")
INTEL_ORM = ("Intel 64 and IA-32 Architectures Optimization Reference Manual (248966): two "
             "256-bit FMA units (ports 0 and 1) from Haswell on")
INTEL_ARK = ("Intel ARK, \"# of AVX-512 FMA Units\": 2 on every 3rd-5th generation Xeon "
             "Scalable; 1 or 2 by SKU on the 1st and 2nd (Skylake-SP, Cascade Lake)")


@dataclass(frozen=True)
class CoreDesign:
    """One core microarchitecture: which CPUs it is, and the FMA instructions it issues
    per cycle at 256 and at 512 bits (0: no AVX-512; None: depends on the SKU)."""

    name: str
    vendor: str  # /proc/cpuinfo's vendor_id
    family: int
    models: tuple[tuple[int, int], ...]  # inclusive (first, last) model ranges
    fma_256: int
    fma_512: int | None
    source: str

    def matches(self, vendor: str, family: int, model: int) -> bool:
        return (vendor == self.vendor and family == self.family
                and any(first <= model <= last for first, last in self.models))


def _each(*models: int) -> tuple[tuple[int, int], ...]:
    return tuple((m, m) for m in models)


CORE_DESIGNS: tuple[CoreDesign, ...] = (
    CoreDesign("Zen/Zen+", "AuthenticAMD", 0x17, ((0x00, 0x2F),), 1, 0, AMD_17H),
    CoreDesign("Zen 2", "AuthenticAMD", 0x17, ((0x30, 0xFF),), 2, 0, AMD_ZEN2),
    CoreDesign("Zen 3", "AuthenticAMD", 0x19, ((0x00, 0x0F), (0x20, 0x5F)), 2, 0, AMD_ZEN3),
    CoreDesign("Zen 4", "AuthenticAMD", 0x19, ((0x10, 0x1F), (0x60, 0x7F), (0xA0, 0xAF)),
               2, 1, AMD_ZEN4),
    CoreDesign("Haswell to Comet Lake", "GenuineIntel", 6,
               _each(0x3C, 0x3F, 0x45, 0x46, 0x3D, 0x47, 0x4F, 0x56, 0x4E, 0x5E, 0x8E,
                     0x9E, 0xA5, 0xA6), 2, 0, INTEL_ORM),
    CoreDesign("Skylake-SP/Cascade Lake/Cooper Lake", "GenuineIntel", 6, _each(0x55),
               2, None, f"{INTEL_ORM}; {INTEL_ARK}"),
    CoreDesign("Ice Lake-SP/Sapphire Rapids/Emerald Rapids", "GenuineIntel", 6,
               _each(0x6A, 0x6C, 0x8F, 0xCF), 2, 2, f"{INTEL_ORM}; {INTEL_ARK}"),
)


@dataclass(frozen=True)
class CpuPeak:
    """A computed fp32 peak and every input to it, each with where it was read."""

    cpu: str  # model name, core design, family and model
    cores: int
    clock_ghz: float
    clock_source: str
    vector_bits: int
    fma_per_cycle: int
    source: str

    @property
    def flop_per_cycle(self) -> int:
        """fp32 FLOP per cycle per core: lanes x 2 (FMA) x FMA issues per cycle."""
        return self.vector_bits // FP32_BITS * FMA_FLOP * self.fma_per_cycle

    @property
    def tflop_per_s(self) -> float:
        return self.cores * self.clock_ghz * GIGA * self.flop_per_cycle / TERA

    def describe(self) -> str:
        """One line for a report: the product, its factors and their sources."""
        lanes = self.vector_bits // FP32_BITS
        return (f"{self.cpu}: {self.cores} cores x {self.clock_ghz:.3f} GHz "
                f"({self.clock_source}) x {self.flop_per_cycle} fp32 FLOP/cycle "
                f"({self.vector_bits}-bit: {lanes} lanes x 2 (FMA) x {self.fma_per_cycle} "
                f"FMA/cycle) = {self.tflop_per_s:.3f} TFLOP/s fp32 ({self.source})")


@dataclass(frozen=True)
class NoCpuPeak:
    """Why this CPU has no computed peak (a rule needing it is SKIPPED with ``reason``)."""

    reason: str


@dataclass(frozen=True)
class _Processor:
    """One ``processor`` block of /proc/cpuinfo, the fields the peak reads."""

    index: int
    fields: Mapping[str, str]

    def get(self, key: str) -> str | None:
        return self.fields.get(key)


def _processors(cpuinfo: str) -> list[_Processor]:
    """The blocks of /proc/cpuinfo (separated by blank lines), keyed by field name."""
    found = []
    for block in re.split(r"\n\s*\n", cpuinfo.strip()):
        fields = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if fields.get("processor", "").isdigit():
            found.append(_Processor(int(fields["processor"]), fields))
    return found


def _physical_cores(processors: Collection[_Processor]) -> int:
    """Distinct (physical id, core id) pairs; without them each processor is a core."""
    pairs = {(p.get("physical id"), p.get("core id")) for p in processors}
    if any(core is None for _, core in pairs):
        return len(processors)
    return len(pairs)


def cpu_peak(cpuinfo: str, allowed: Collection[int],
             max_freq_khz: Mapping[int, float] | None = None) -> CpuPeak | NoCpuPeak:
    """The peak of the ``allowed`` processors described by ``cpuinfo`` (/proc/cpuinfo's
    text), with sysfs ``cpuinfo_max_freq`` per processor where known."""
    mine = [p for p in _processors(cpuinfo) if p.index in set(allowed)]
    if not mine:
        return NoCpuPeak("/proc/cpuinfo lists none of the processors this process may run "
                         "on: cores unknown")
    first = mine[0]
    flags = set((first.get("flags") or "").split())
    if not flags:
        return NoCpuPeak("/proc/cpuinfo has no x86 'flags' line: vector width and FMA "
                         "unknown (blitzbench computes CPU peaks for x86 only)")
    width = _vector_bits(flags)
    if isinstance(width, NoCpuPeak):
        return width
    design = _design(first)
    if isinstance(design, NoCpuPeak):
        return design
    if width == 512 and design.fma_512 == 0:
        width = 256  # flags claim AVX-512 on a design without it: judge its AVX2 units
    issues = design.fma_256 if width == 256 else design.fma_512
    if issues is None:
        return NoCpuPeak(f"{_name(first, design)}: one or two AVX-512 FMA units depending "
                         f"on the SKU ({INTEL_ARK}); the model name does not say which")
    clock = _clock(mine, max_freq_khz or {}, "hypervisor" in flags)
    if isinstance(clock, NoCpuPeak):
        return clock
    return CpuPeak(_name(first, design), _physical_cores(mine), clock[0], clock[1], width,
                   issues, design.source)


def _vector_bits(flags: set[str]) -> int | NoCpuPeak:
    """The widest FMA vector width the flags show: 512 (avx512f), 256 (avx2), or why
    there is none."""
    if "fma" not in flags:
        what = "AVX but no FMA" if "avx" in flags else "no AVX and no FMA"
        return NoCpuPeak(f"the CPU flags show {what}: blitzbench computes peaks for FMA "
                         f"cores (AVX2+FMA or AVX-512)")
    if "avx512f" in flags:
        return 512
    if "avx2" in flags:
        return 256
    return NoCpuPeak("the CPU flags show FMA without AVX2: no core design blitzbench "
                     "knows")


def _design(processor: _Processor) -> CoreDesign | NoCpuPeak:
    vendor = processor.get("vendor_id") or ""
    family, model = processor.get("cpu family"), processor.get("model")
    if not (family or "").isdigit() or not (model or "").isdigit():
        return NoCpuPeak(f"/proc/cpuinfo gives no numeric cpu family and model for "
                         f"{vendor or 'this CPU'}: core design unknown")
    found = next((d for d in CORE_DESIGNS if d.matches(vendor, int(family), int(model))),
                 None)
    if found is None:
        return NoCpuPeak(f"{vendor} family {family} model {model} "
                         f"({processor.get('model name') or 'no model name'}): not in "
                         f"blitzbench's table of core designs (timing/cpu_peak.py), so "
                         f"its FMA units per cycle are unknown")
    return found


def _name(processor: _Processor, design: CoreDesign) -> str:
    return (f"{processor.get('model name') or processor.get('vendor_id')} ({design.name}, "
            f"family {processor.get('cpu family')} model {processor.get('model')})")


def _clock(processors: Collection[_Processor], max_freq_khz: Mapping[int, float],
           guest: bool) -> tuple[float, str] | NoCpuPeak:
    """The highest clock of the processors and where it was read."""
    sysfs = [max_freq_khz[p.index] for p in processors if max_freq_khz.get(p.index)]
    if sysfs:
        return max(sysfs) / KHZ_PER_GHZ, "sysfs cpufreq/cpuinfo_max_freq"
    mhz = [float(v) for p in processors if _is_number(v := p.get("cpu MHz") or "")]
    if not mhz or max(mhz) <= 0:
        return NoCpuPeak("clock unreadable: no cpufreq/cpuinfo_max_freq in sysfs and no "
                         "'cpu MHz' in /proc/cpuinfo")
    meaning = ("on a VM the TSC rate the host announced, its nominal clock; boost is not "
               "visible to the guest" if guest else "the clock at the moment of reading")
    return max(mhz) / MHZ_PER_GHZ, f"/proc/cpuinfo cpu MHz: {meaning}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def usable_cpus() -> frozenset[int]:
    """The processors this process may run on."""
    try:
        return frozenset(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return frozenset(range(os.cpu_count() or 1))


def read_max_freq_khz(cpus: Collection[int], root: Path = SYSFS_CPU) -> dict[int, float]:
    """sysfs ``cpuinfo_max_freq`` (kHz) per processor, where the kernel has cpufreq."""
    found = {}
    for cpu in cpus:
        try:
            text = (root / f"cpu{cpu}" / "cpufreq" / "cpuinfo_max_freq").read_text()
        except OSError:
            continue
        if _is_number(text.strip()):
            found[cpu] = float(text)
    return found


@functools.lru_cache(maxsize=1)
def read_cpu_peak() -> CpuPeak | NoCpuPeak:
    """This machine's peak (read once per process: it does not change while it runs)."""
    cpus = usable_cpus()
    try:
        cpuinfo = CPUINFO_PATH.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return NoCpuPeak(f"cannot read {CPUINFO_PATH} ({exc.strerror or exc}): flags, "
                         f"clock and cores unknown")
    return cpu_peak(cpuinfo, cpus, read_max_freq_khz(cpus))


def count_physical_cores(cpuinfo: str, allowed: Collection[int]) -> int:
    """Physical cores among the ``allowed`` processors of a /proc/cpuinfo text; every
    allowed processor when the text cannot say which are SMT siblings."""
    processors = [p for p in _processors(cpuinfo) if p.index in set(allowed)]
    return _physical_cores(processors) if processors else len(allowed)


def usable_physical_cores() -> int:
    """Physical cores this process may run on."""
    cpus = usable_cpus()
    try:
        return count_physical_cores(CPUINFO_PATH.read_text(errors="replace"), cpus)
    except OSError:
        return len(cpus)
