"""--device parsing: unknown and absent devices are DeviceErrors with a fix."""

from __future__ import annotations

import pytest
import torch

from blitzbench.devices import cuda_available, parse_devices, planned_devices
from blitzbench.errors import DeviceError


def test_cpu_and_all() -> None:
    assert parse_devices("cpu") == [torch.device("cpu")]
    assert parse_devices("all")[0] == torch.device("cpu")


@pytest.mark.parametrize("spec", ["tpu", "gpu0", "cuda:x", "cuda:-1", ""])
def test_unknown_device_names(spec: str) -> None:
    if spec == "":
        assert parse_devices(spec)[0] == torch.device("cpu")  # empty means the default
        return
    with pytest.raises(DeviceError, match=r"unknown device|does not exist|no CUDA"):
        parse_devices(spec)


def test_cuda_index_beyond_the_machine() -> None:
    with pytest.raises(DeviceError, match="cuda:7"):
        parse_devices("cuda:7")


@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_an_error_in_the_cli_and_a_skip_in_pytest() -> None:
    with pytest.raises(DeviceError, match="no CUDA device"):
        parse_devices("cuda")
    assert parse_devices("cuda", strict=False) == [torch.device("cuda", 0)]
    assert torch.device("cuda", 0) in planned_devices()
