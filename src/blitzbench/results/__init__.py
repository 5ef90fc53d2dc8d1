"""The results model: every record a run writes, and the one reader that loads them back.

This package is the bottom of blitzbench: it imports neither torch nor any other part of
blitzbench except :mod:`blitzbench.errors`, so the report, ``fleet``, ``compare`` and the
acceptance verdict can read a run folder without loading torch.

- :mod:`~blitzbench.results.names`: names shared by writers and readers (levels,
  families, benchmarks, parameter keys, metric fields, folder and file names);
- :mod:`~blitzbench.results.stats`: median, IQR and the noise threshold;
- :mod:`~blitzbench.results.records`: the records, each with one ``to_json``/``from_json``;
- :mod:`~blitzbench.results.reader`: the validating reader of a run folder;
- :mod:`~blitzbench.results.compare`: the statistical verdict between two samples of
  per-round times (FASTER, SLOWER, SAME, NOISY);
- :mod:`~blitzbench.results.derived`: figures computed from several records (the CUDA
  speed-up of the LeNet step, the DataLoader's scaling).
"""
