"""blitzbench: checks, benchmarks, profiler reports and hardware acceptance for the
PyTorch 60-minute blitz tutorial."""

__version__ = "0.1.0"
__all__ = ["__version__"]
