"""The CIFAR-10 data module: the synthetic writer's on-disk format, and every defect of a
data root reported as one DataError line."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torchvision

from blitzbench.errors import DataError, UsageError
from blitzbench.workloads.cifar import (
    BASE_FOLDER,
    CLASSES,
    SYNTHETIC_MARKER,
    DataSource,
    check_loader_args,
    resolve_data_source,
    write_synthetic_cifar10,
)

SMALL_TRAIN = 30
SMALL_TEST = 10


@pytest.fixture
def small_synthetic(tmp_path: Path) -> Path:
    return write_synthetic_cifar10(tmp_path / "cifar", train_count=SMALL_TRAIN,
                                   test_count=SMALL_TEST)


def test_synthetic_set_has_the_real_layout(small_synthetic: Path) -> None:
    folder = small_synthetic / BASE_FOLDER
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["batches.meta", "data_batch_1", "data_batch_2", "data_batch_3",
                     "data_batch_4", "data_batch_5", "test_batch"]
    with open(folder / "data_batch_1", "rb") as handle:
        entry = pickle.load(handle, encoding="latin1")
    assert entry["data"].dtype == np.uint8 and entry["data"].shape[1] == 3 * 32 * 32
    assert len(entry["labels"]) == entry["data"].shape[0]


def test_synthetic_set_reads_through_torchvision(small_synthetic: Path) -> None:
    source = resolve_data_source(small_synthetic)
    assert source.synthetic
    train = source.dataset(train=True)
    assert isinstance(train, torchvision.datasets.CIFAR10)
    assert len(train) == SMALL_TRAIN and len(source.dataset(train=False)) == SMALL_TEST
    assert tuple(train.classes) == CLASSES
    image, label = train[0]
    assert image.size == (32, 32) and 0 <= label < 10


def test_missing_root_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        resolve_data_source(tmp_path / "nowhere")


def test_root_without_cifar_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=BASE_FOLDER):
        resolve_data_source(tmp_path)


def test_real_layout_failing_md5_names_the_file(small_synthetic: Path) -> None:
    (small_synthetic / SYNTHETIC_MARKER).unlink()  # now it claims to be real CIFAR-10
    source = resolve_data_source(small_synthetic)
    assert not source.synthetic
    with pytest.raises(DataError, match="data_batch_1 fails its MD5 check"):
        source.validate()


def test_truncated_file_is_a_data_error(small_synthetic: Path) -> None:
    path = small_synthetic / BASE_FOLDER / "data_batch_2"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="cannot be read"):
        resolve_data_source(small_synthetic).validate()


def test_corrupt_pickle_is_a_data_error(small_synthetic: Path) -> None:
    (small_synthetic / BASE_FOLDER / "test_batch").write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="cannot be read"):
        resolve_data_source(small_synthetic).validate()


def test_wrong_shapes_are_a_data_error(small_synthetic: Path) -> None:
    path = small_synthetic / BASE_FOLDER / "data_batch_1"
    with open(path, "wb") as handle:
        pickle.dump({"data": np.zeros((7, 1000), np.uint8), "labels": [0] * 7}, handle)
    with pytest.raises(DataError, match="cannot be read"):
        resolve_data_source(small_synthetic).validate()


def test_missing_file_is_named(small_synthetic: Path) -> None:
    (small_synthetic / BASE_FOLDER / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3 is missing"):
        DataSource("synthetic", small_synthetic).validate()


@pytest.mark.parametrize(("batch_size", "workers"), [(0, 0), (-4, 0), (4, -1), (4, 10_000)])
def test_bad_loader_arguments_are_usage_errors(batch_size: int, workers: int) -> None:
    with pytest.raises(UsageError):
        check_loader_args(batch_size, workers)
