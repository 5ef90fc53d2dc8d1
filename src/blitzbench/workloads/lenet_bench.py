"""LeNet forward (eval, no_grad) and training step, in the variants a user would try.

Variants: ``eager`` (the tutorial as written); ``channels_last`` (NHWC memory format);
``bf16`` (autocast to bfloat16, CUDA only); ``cuda_graph`` (the whole training step,
forward + loss + backward + SGD update, captured once and replayed; CUDA only, training
only); ``compile`` (torch.compile; slow, full level only). All use the one LeNet and the
one training step from workloads/lenet.py.

The CUDA graph follows PyTorch's "whole network capture" recipe (torch.cuda.graphs docs):
warm up on a side stream (so lazy initialisation and SGD's momentum buffers happen outside
the capture), set grads to None so backward allocates them from the graph's private pool,
capture the step on static input tensors, then replay. Plain SGD needs no ``capturable``
flag: its update uses a Python-float learning rate and no host synchronisation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from blitzbench.results.names import BATCH_PARAM, EAGER, LENET_FORWARD, LENET_STEP, VARIANT_PARAM
from blitzbench.timing.workload import Workload
from blitzbench.workloads.catalog import DEEPER, FULL, LEVELS, Case, make_case
from blitzbench.workloads.cifar import check_loader_args
from blitzbench.workloads.lenet import LeNet, make_train_step, synthetic_batch

if TYPE_CHECKING:
    from blitzbench.workloads.cifar import DataSource

__all__ = ["BATCH_SIZES", "VARIANTS", "cases", "forward_case", "train_step_case"]

BATCH_SIZES = (4, 64, 256, 1024)
VARIANTS = (EAGER, "channels_last", "bf16", "cuda_graph", "compile")
CUDA_ONLY = frozenset({"bf16", "cuda_graph"})
GRAPH_WARMUP_STEPS = 3  # as in PyTorch's whole-network capture example
COMPILE_BATCH_SIZES = (64, 1024)
COMPILE_WARMUP = 3  # the first calls compile; a few more settle guards and autotuning
SEED = 0

QUICK_BATCHES = {  # variant -> batch sizes that the quick level keeps, per kind
    ("forward", EAGER): (4, 64), ("train_step", EAGER): (4, 64),
    ("train_step", "channels_last"): (64,), ("train_step", "bf16"): (64,),
    ("train_step", "cuda_graph"): (4, 64),
}


def _inputs(batch_size: int, device: torch.device, variant: str,
            ) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(SEED)
    model = LeNet()
    images, labels = synthetic_batch(batch_size, device,
                                     torch.Generator().manual_seed(SEED))
    if variant == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    return model, images, labels


def _autocast(device: torch.device, variant: str) -> contextlib.AbstractContextManager:
    if variant == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def build_forward(device: torch.device, batch_size: int, variant: str) -> Workload:
    model, images, _ = _inputs(batch_size, device, variant)
    model = model.to(device).eval()
    if variant == "compile":
        model = torch.compile(model)

    def run() -> torch.Tensor:
        with torch.no_grad(), _autocast(device, variant):
            return model(images)

    return Workload(run, {"images": batch_size})


def build_train_step(device: torch.device, batch_size: int, variant: str) -> Workload:
    model, images, labels = _inputs(batch_size, device, variant)
    if variant == "compile":
        model = torch.compile(model)
    train = make_train_step(device, model=model)
    if variant == "cuda_graph":
        graph = _graphed_step(train.step, images, labels, device)
        # The graph reads and writes these tensors' memory on every replay: they must
        # live as long as the graph, and teardown releases them together.
        alive = [graph, train, images, labels]
        return Workload(graph.replay, {"images": batch_size}, teardown=alive.clear)
    if variant == "bf16":
        return Workload(_autocast_step(train.model, train.optimizer, images, labels, device),
                        {"images": batch_size})
    return Workload(lambda: train.step(images, labels), {"images": batch_size})


def _autocast_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
                   labels: torch.Tensor, device: torch.device) -> Callable[[], torch.Tensor]:
    """Forward and loss under bf16 autocast; backward and the update outside it, as the
    autocast docs advise. bf16 keeps fp32's exponent range, so no GradScaler is needed."""
    criterion = nn.CrossEntropyLoss()

    def step() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, "bf16"):
            loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    return step


def _graphed_step(step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                  images: torch.Tensor, labels: torch.Tensor,
                  device: torch.device) -> torch.cuda.CUDAGraph:
    """Capture one whole training step as a CUDA graph (``replay()`` runs it again).

    ``images`` and ``labels`` are the graph's static inputs: a training loop would
    ``copy_`` each new batch into them before replaying.
    """
    with torch.cuda.device(device):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(GRAPH_WARMUP_STEPS):
                step(images, labels)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # step() begins with zero_grad(set_to_none=True): backward inside the capture then
        # allocates the grads from the graph's pool, and each replay refills them in place.
        with torch.cuda.graph(graph):
            step(images, labels)
    return graph


def _levels(kind: str, variant: str, batch_size: int) -> tuple[str, ...]:
    if variant == "compile":
        return (FULL,)
    return LEVELS if batch_size in QUICK_BATCHES.get((kind, variant), ()) else DEEPER


def forward_case(device: torch.device, batch_size: int, variant: str,
                 levels: tuple[str, ...] = LEVELS) -> Case:
    check_loader_args(batch_size, 0)
    return make_case(LENET_FORWARD, device,
                     {BATCH_PARAM: batch_size, VARIANT_PARAM: variant}, levels,
                     lambda: build_forward(device, batch_size, variant),
                     **_timing(variant))


def train_step_case(device: torch.device, batch_size: int, variant: str,
                    levels: tuple[str, ...] = LEVELS) -> Case:
    check_loader_args(batch_size, 0)
    return make_case(LENET_STEP, device,
                     {BATCH_PARAM: batch_size, VARIANT_PARAM: variant}, levels,
                     lambda: build_train_step(device, batch_size, variant),
                     **_timing(variant))


def _timing(variant: str) -> dict[str, object]:
    if variant == "compile":
        return {"warmup": COMPILE_WARMUP, "slow": True}
    return {}


def _variants(device: torch.device, kind: str) -> list[str]:
    names = [v for v in VARIANTS if device.type == "cuda" or v not in CUDA_ONLY]
    return [v for v in names if not (kind == "forward" and v == "cuda_graph")]


def cases(device: torch.device, data: DataSource) -> list[Case]:
    """Forward and training step for every variant this device supports, all batches."""
    found = []
    for kind, factory in (("forward", forward_case), ("train_step", train_step_case)):
        for variant in _variants(device, kind):
            batches = COMPILE_BATCH_SIZES if variant == "compile" else BATCH_SIZES
            if variant == "compile" and kind == "forward":
                continue  # compile is measured on the training step, where it matters most
            found += [factory(device, batch, variant, _levels(kind, variant, batch))
                      for batch in batches]
    return found
