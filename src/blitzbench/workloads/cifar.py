"""CIFAR-10 as the tutorial loads it: real data under ``--data-root``, or a synthetic
CIFAR-10 that blitzbench writes in the real on-disk format.

The synthetic set has the real layout (``cifar-10-batches-py/data_batch_1..5``,
``test_batch``, ``batches.meta``, Python pickles of uint8 rows of 3072 bytes), the real
counts (50,000 / 10,000) and class names, and is read by torchvision's own ``CIFAR10``
class. Only the checksum test is relaxed for it, since its bytes cannot match the real
files' MD5s. Each class carries a colour and stripe signal, so LeNet can learn it.
"""

from __future__ import annotations

import functools
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets.utils import check_integrity

from blitzbench.errors import DataError, UsageError

__all__ = [
    "CLASSES",
    "IMAGE_SHAPE",
    "TEST_COUNT",
    "TRAIN_COUNT",
    "DataSource",
    "SyntheticCIFAR10",
    "available_cores",
    "default_cache_dir",
    "make_loader",
    "next_batch",
    "resolve_data_source",
    "stop_workers",
    "synthetic_truth",
    "tutorial_split",
    "tutorial_transform",
    "unnormalize",
    "write_synthetic_cifar10",
]

CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (3, 32, 32)
TRAIN_COUNT = 50_000
TEST_COUNT = 10_000
BATCH_FILE_ROWS = 10_000
TRAIN_FILES = 5
BASE_FOLDER = "cifar-10-batches-py"
SYNTHETIC_MARKER = "BLITZBENCH_SYNTHETIC"
SYNTHETIC_SEED = 20190620  # the tutorial's date; any fixed seed would do
SIGNAL_WEIGHT = 0.6  # share of each pixel that is the class pattern (the rest is noise)
LOADER_TIMEOUT_S = 60.0  # a dead worker becomes an error after this, never a hang
MAX_WORKERS_PER_CORE = 4
DEAD_WORKER_WAIT_S = 1.0  # a SIGKILLed worker is reaped within milliseconds
DEAD_WORKER_POLL_S = 0.01
NORMALIZE_MEAN = (0.5, 0.5, 0.5)
NORMALIZE_STD = (0.5, 0.5, 0.5)
CACHE_ENV = "BLITZBENCH_CACHE"
ROW_BYTES = 3 * 32 * 32  # one image, channel-major, as the real files store it
MESSAGE_CHARS = 120  # of an underlying error, so the one line stays readable
PICKLE_PROTOCOL = 4  # the real files are protocol 2; 4 stores uint8 rows without inflation


def tutorial_transform() -> T.Compose:
    """ToTensor, then Normalize with mean 0.5 and std 0.5 per channel."""
    return T.Compose([T.ToTensor(), T.Normalize(NORMALIZE_MEAN, NORMALIZE_STD)])


def unnormalize(img: torch.Tensor) -> torch.Tensor:
    """The tutorial's inverse of its Normalize: halve, then add one half."""
    return img / 2 + 0.5


class SyntheticCIFAR10(torchvision.datasets.CIFAR10):
    """torchvision's CIFAR10 reader, with the MD5 test replaced by an existence test."""

    def _check_integrity(self) -> bool:
        folder = Path(self.root) / self.base_folder
        names = [n for n, _ in self.train_list + self.test_list] + [self.meta["filename"]]
        return all((folder / n).is_file() for n in names)

    def _load_meta(self) -> None:
        path = Path(self.root) / self.base_folder / self.meta["filename"]
        if not path.is_file():
            raise RuntimeError(f"{path} not found")
        with open(path, "rb") as handle:
            self.classes = pickle.load(handle, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}


@dataclass(frozen=True)
class DataSource:
    """Where CIFAR-10 comes from in this run: ``real`` or ``synthetic``, and its root."""

    kind: str
    root: Path

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"

    def describe(self) -> str:
        if self.synthetic:
            return f"synthetic CIFAR-10 in the real on-disk format at {self.root}"
        return f"real CIFAR-10 at {self.root}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "root": str(self.root), "description": self.describe()}

    def dataset(self, train: bool = True, transform: Any = None) -> Dataset:
        """The train or test split through torchvision's reader; defects become DataError."""
        if self.synthetic:
            _ensure_synthetic(self.root)
        cls = SyntheticCIFAR10 if self.synthetic else torchvision.datasets.CIFAR10
        try:
            return cls(root=str(self.root), train=train, download=False, transform=transform)
        except RuntimeError:
            raise DataError(_integrity_message(self)) from None
        except (pickle.UnpicklingError, EOFError, ValueError, KeyError, TypeError,
                AttributeError, IndexError) as exc:
            what = _file_defect(self.root / BASE_FOLDER) or _clip(exc)
            raise DataError(f"CIFAR-10 under {self.root} cannot be read: {what}: "
                            f"{_fix_hint(self)}") from None

    def validate(self) -> None:
        """Open both splits now, so a defect is reported before any work starts; a file
        that reads but whose labels do not match its images is a defect too."""
        for train in (True, False):
            split = self.dataset(train=train)
            if len(split.targets) != len(split.data):
                what = _file_defect(self.root / BASE_FOLDER) or "labels do not match images"
                raise DataError(f"CIFAR-10 under {self.root} cannot be read: {what}: "
                                f"{_fix_hint(self)}")


@functools.lru_cache(maxsize=4)
def tutorial_split(source: DataSource, train: bool) -> Dataset:
    """The train or test split with the tutorial's transform, read once per process and
    shared by the claims, the benchmarks and the profiler."""
    return source.dataset(train=train, transform=tutorial_transform())


def available_cores() -> int:
    """Cores this process may run on (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "blitzbench"))


def resolve_data_source(data_root: str | Path | None) -> DataSource:
    """A user's ``--data-root`` (checked now), else the synthetic set in the cache.

    The synthetic set is written on first use, not here, so runs that need no data
    write nothing.
    """
    if data_root is None:
        return DataSource("synthetic", default_cache_dir() / "synthetic-cifar10")
    root = Path(data_root)
    if not root.is_dir():
        raise DataError(f"--data-root {root} does not exist: point it at the folder that "
                        f"holds {BASE_FOLDER}/, or leave it out to use synthetic CIFAR-10")
    if not (root / BASE_FOLDER).is_dir():
        raise DataError(f"--data-root {root} holds no {BASE_FOLDER}/ folder: extract "
                        f"cifar-10-python.tar.gz there, or leave --data-root out")
    kind = "synthetic" if (root / SYNTHETIC_MARKER).exists() else "real"
    return DataSource(kind, root)


def make_loader(dataset: Dataset, batch_size: int = 4, *, shuffle: bool = True,
                num_workers: int = 2, pin_memory: bool = False, seed: int | None = None,
                timeout_s: float = LOADER_TIMEOUT_S) -> DataLoader:
    """The tutorial's DataLoader, with argument checks and a worker timeout.

    The timeout turns a worker that died or hangs into an error after ``timeout_s``.
    """
    check_loader_args(batch_size, num_workers)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                      num_workers=num_workers, pin_memory=pin_memory, generator=generator,
                      timeout=timeout_s if num_workers > 0 else 0,
                      persistent_workers=False)


def next_batch(iterator: Any) -> Any:
    """``next(iterator)``; a worker killed while handing over a batch breaks the connection
    before torch notices the death, so that is reported as torch reports a dead worker."""
    try:
        return next(iterator)
    except (ConnectionError, EOFError) as exc:
        raise RuntimeError(f"DataLoader worker (pid(s) {_dead_worker_pids(iterator)}) died "
                           f"while sending a batch ({type(exc).__name__}: {exc})") from exc


def _dead_worker_pids(iterator: Any) -> str:
    workers = getattr(iterator, "_workers", [])
    deadline = time.monotonic() + DEAD_WORKER_WAIT_S
    while True:
        dead = [str(w.pid) for w in workers if not w.is_alive()]
        if dead or time.monotonic() > deadline:
            return ", ".join(dead) or "unknown"
        time.sleep(DEAD_WORKER_POLL_S)


def stop_workers(iterator: Any) -> None:
    """Stop a DataLoader iterator's workers now, also after one died.

    Dropping the iterator is not enough then: the error's traceback keeps it alive, so its
    shutdown would run whenever the garbage collector gets to it, and torch's SIGCHLD
    handler would raise the dead worker's error again at that random moment, outside the
    measurement. Shutting down here (which unregisters the workers) keeps the error where
    it belongs. ``_shutdown_workers`` is private; an iterator without it has no workers.
    """
    shutdown = getattr(iterator, "_shutdown_workers", None)
    if shutdown is not None:
        shutdown()


def check_loader_args(batch_size: int, num_workers: int) -> None:
    """Batch size and worker count a user passed; a bad one is a one-line UsageError."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch size {batch_size!r} is invalid: use a positive integer")
    cores = available_cores()
    limit = MAX_WORKERS_PER_CORE * cores
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise UsageError(f"num_workers {num_workers!r} is invalid: use 0 (load in the main "
                         f"process) or a positive integer")
    if num_workers > limit:
        raise UsageError(f"num_workers {num_workers} is far above this machine's {cores} "
                         f"cores: use at most {limit}")


def write_synthetic_cifar10(root: Path, *, train_count: int = TRAIN_COUNT,
                            test_count: int = TEST_COUNT, seed: int = SYNTHETIC_SEED) -> Path:
    """Write a synthetic CIFAR-10 under ``root`` in the real on-disk format.

    Written into a temporary sibling folder and renamed into place, so a reader never sees
    a half-written set, and two processes racing to write it both end with a whole one.
    """
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}."))
    try:
        _write_batches(staging / BASE_FOLDER, train_count, test_count, seed)
        (staging / SYNTHETIC_MARKER).write_text(
            f"synthetic CIFAR-10 written by blitzbench, seed {seed}\n", encoding="utf-8")
        try:
            os.rename(staging, root)
        except OSError:
            if not (root / SYNTHETIC_MARKER).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def synthetic_truth(wanted: dict[bool, Sequence[int]], *, seed: int = SYNTHETIC_SEED,
                    train_count: int = TRAIN_COUNT, test_count: int = TEST_COUNT,
                    ) -> dict[bool, tuple[np.ndarray, np.ndarray]]:
    """What the synthetic set holds, regenerated without reading it: for each split in
    ``wanted`` (True: train), the wanted images as ``CIFAR10.data`` holds them (N, 32, 32, 3
    uint8) and every label of the split, in order.

    It replays write_synthetic_cifar10's draws file by file (the noise of every earlier
    file must be drawn to reach a later one: about 0.1 s per file of 10,000 images) and
    computes the pixels of the wanted rows only, so the truth is independent of the files
    and of torchvision's reader.
    """
    rng, patterns = np.random.default_rng(seed), _class_patterns()
    splits = {True: np.array_split(np.arange(train_count), TRAIN_FILES),
              False: [np.arange(test_count)]}
    truth: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    for train in (True, False):
        if not set(wanted) - set(truth):
            break
        asked = np.asarray(wanted.get(train, ()), dtype=np.int64)
        images = np.empty((len(asked), *IMAGE_SHAPE), dtype=np.uint8)
        labels = []
        for file_rows in splits[train]:
            file_labels = rng.integers(0, len(CLASSES), size=len(file_rows))
            noise = rng.integers(0, 256, size=(len(file_rows), *IMAGE_SHAPE), dtype=np.uint8)
            here = np.isin(asked, file_rows)
            local = asked[here] - (file_rows[0] if len(file_rows) else 0)
            pixels = (SIGNAL_WEIGHT * patterns[file_labels[local]]
                      + (1 - SIGNAL_WEIGHT) * noise[local])
            images[here] = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
            labels.append(file_labels)
        truth[train] = (images.transpose(0, 2, 3, 1), np.concatenate(labels))
    return {train: truth[train] for train in wanted}


def _ensure_synthetic(root: Path) -> None:
    if not (root / SYNTHETIC_MARKER).exists():
        try:
            write_synthetic_cifar10(root)
        except OSError as exc:
            raise DataError(f"cannot write synthetic CIFAR-10 to {root}: {exc.strerror}: "
                            f"set {CACHE_ENV} to a writable folder") from None


def _write_batches(folder: Path, train_count: int, test_count: int, seed: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    patterns = _class_patterns()
    splits = np.array_split(np.arange(train_count), TRAIN_FILES)  # always the five files
    for index, rows in enumerate((len(s) for s in splits), start=1):
        _dump(folder / f"data_batch_{index}", _batch(rng, patterns, rows, f"batch {index}"))
    _dump(folder / "test_batch", _batch(rng, patterns, test_count, "testing batch 1"))
    _dump(folder / "batches.meta", {"label_names": list(CLASSES),
                                    "num_cases_per_batch": BATCH_FILE_ROWS,
                                    "num_vis": int(np.prod(IMAGE_SHAPE))})


def _class_patterns() -> np.ndarray:
    """One (3, 32, 32) float pattern per class: a class colour plus stripes whose
    orientation and frequency depend on the class."""
    y, x = np.mgrid[0:32, 0:32].astype(np.float32) / 32.0
    patterns = np.empty((len(CLASSES), *IMAGE_SHAPE), dtype=np.float32)
    for label in range(len(CLASSES)):
        angle = np.pi * label / len(CLASSES)
        freq = 1 + label % 4
        stripes = np.sin(2 * np.pi * freq * (x * np.cos(angle) + y * np.sin(angle)))
        colour = 0.5 + 0.4 * np.sin(2 * np.pi * (label / len(CLASSES) + np.arange(3) / 3))
        patterns[label] = 255 * np.clip(colour[:, None, None] + 0.3 * stripes, 0, 1)
    return patterns


def _batch(rng: np.random.Generator, patterns: np.ndarray, rows: int,
           label: str) -> dict[str, Any]:
    labels = rng.integers(0, len(CLASSES), size=rows)
    noise = rng.integers(0, 256, size=(rows, *IMAGE_SHAPE), dtype=np.uint8)
    pixels = SIGNAL_WEIGHT * patterns[labels] + (1 - SIGNAL_WEIGHT) * noise
    data = np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(rows, -1)
    return {"batch_label": f"{label} (synthetic)", "labels": labels.tolist(), "data": data,
            "filenames": [f"synthetic_{label.replace(' ', '_')}_{i:05d}.png"
                          for i in range(rows)]}


def _dump(path: Path, payload: dict[str, Any]) -> None:
    with open(path, "wb") as handle:
        pickle.dump(payload, handle, protocol=PICKLE_PROTOCOL)


def _integrity_message(source: DataSource) -> str:
    folder = source.root / BASE_FOLDER
    reader = torchvision.datasets.CIFAR10
    entries = reader.train_list + reader.test_list + [[reader.meta["filename"],
                                                       reader.meta["md5"]]]
    for name, md5 in entries:
        path = folder / name
        if not path.is_file():
            return f"CIFAR-10 file {path} is missing: {_fix_hint(source)}"
        if not source.synthetic and not check_integrity(str(path), md5):
            return (f"CIFAR-10 file {path} fails its MD5 check (truncated or corrupt): "
                    f"{_fix_hint(source)}")
    return f"CIFAR-10 under {source.root} is not readable: {_fix_hint(source)}"


def _file_defect(folder: Path) -> str | None:
    """The first data file that is not a pickle of N rows of 3072 uint8 bytes with N labels
    in 0..9, described in a few words; None when every file is sound."""
    reader = torchvision.datasets.CIFAR10
    for name, _ in reader.train_list + reader.test_list:
        try:
            with open(folder / name, "rb") as handle:
                entry = pickle.load(handle, encoding="latin1")
            data = np.asarray(entry["data"])
            labels = np.asarray(entry.get("labels", entry.get("fine_labels")))
        except Exception as exc:  # a damaged pickle can raise almost anything
            return f"{name} is not a CIFAR-10 pickle ({_clip(exc)})"
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW_BYTES:
            return (f"{name} holds {data.dtype} data of shape {data.shape}, expected rows "
                    f"of {ROW_BYTES} uint8 values")
        if labels.shape != (len(data),) or not np.isin(labels, range(len(CLASSES))).all():
            return f"{name} has labels that do not match its {len(data)} images or 0..9"
    return None


def _clip(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:MESSAGE_CHARS]}"


def _fix_hint(source: DataSource) -> str:
    if source.synthetic:
        return f"delete {source.root} and run again to regenerate it"
    return "download and extract cifar-10-python.tar.gz again"
