"""Claims about the tutorial's LeNet: its shapes and parameter count, and that a short SGD
run learns CIFAR-10 (synthetic by default, real under ``--data-root``).

The network is the project's one copy (workloads/lenet.py). The training check feeds it
images converted the way ToTensor + Normalize(0.5, 0.5) would, but in one vectorized step
over the uint8 array, so that a few hundred steps take seconds; the transform itself is
judged in the data section.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from blitzbench.claims.data import data_label
from blitzbench.claims.lenet_layers import (
    BATCH_SIZES,
    LAYERS,
    SIDES,
    LayerCase,
    LayerJudge,
    layer_cases,
)
from blitzbench.claims.model import Claim, ClaimContext, InputSpace, Outcome, Verdict
from blitzbench.claims.properties import run_property
from blitzbench.claims.verdicts import judged
from blitzbench.workloads.cifar import (
    NORMALIZE_MEAN,
    NORMALIZE_STD,
    DataSource,
    tutorial_split,
)
from blitzbench.workloads.lenet import LeNet, make_train_step, parameter_count

__all__ = ["CLAIMS", "SECTION", "TrainingRun", "as_tutorial_tensors", "short_training_run"]

SECTION = "lenet"
WHERE = "LeNet"
PARAMETER_COUNT = 62_006  # 456 + 2,416 + 48,120 + 10,164 + 850
PARAMETER_SHAPES = {
    "conv1.weight": (6, 3, 5, 5), "conv1.bias": (6,),
    "conv2.weight": (16, 6, 5, 5), "conv2.bias": (16,),
    "fc1.weight": (120, 400), "fc1.bias": (120,),
    "fc2.weight": (84, 120), "fc2.bias": (84,),
    "fc3.weight": (10, 84), "fc3.bias": (10,),
}
# (input shape, output shape) of each layer for one image: 32 -conv5-> 28 -pool-> 14
# -conv5-> 10 -pool-> 5, and 16 * 5 * 5 = 400 features into fc1.
LAYER_SHAPES = {
    "conv1": ((3, 32, 32), (6, 28, 28)), "conv2": ((6, 14, 14), (16, 10, 10)),
    "fc1": ((400,), (120,)), "fc2": ((120,), (84,)), "fc3": ((84,), (10,)),
}
FORWARD_BATCHES = (1, 4, 64)
LAYER_EXAMPLES = 25  # generated inputs at the quick depth; each checks all nine layers
BATCH_SIZES_RANGE = (f"{BATCH_SIZES[0]}..{BATCH_SIZES[1]}",)
SIDES_RANGE = (f"{SIDES[0]}..{SIDES[1]} (non-square too; 32x32 for the whole forward)",)
NUM_CLASSES = 10
CHANCE = 1 / NUM_CLASSES

# The tutorial trains with lr 0.001, momentum 0.9 at batch 4: after a few hundred such steps
# the loss has barely moved (measured: 2.29 -> 2.23 over 200 steps, 18% held-out accuracy on
# synthetic CIFAR-10). A check that must take seconds uses larger batches and a larger rate;
# lr 0.01 with momentum 0.9 at batch 32 is stable from LeNet's default initialization.
BATCH_SIZE = 32
LEARNING_RATE = 0.01
MOMENTUM = 0.9
STEPS_SYNTHETIC = 100  # the synthetic classes carry a strong colour/stripe signal
STEPS_REAL = 400  # 12,800 real images: well short of an epoch, but clearly above chance
EVAL_IMAGES = 1_000  # held-out test images; chance is 10% +- 0.9% (one standard error)
LOSS_WINDOW = 20  # steps averaged at the start and at the end of the run
MAX_LOSS_RATIO = 0.95  # the final mean loss must be at least 5% below the initial one
MIN_ACCURACY = 0.2  # twice chance: > 10 standard errors above it for 1,000 images


@contextlib.contextmanager
def _single_thread(device: torch.device) -> Iterator[None]:
    """One intra-op thread on the CPU for the duration. LeNet at batch 32 gains nothing
    from more, and on a busy machine spinning OpenMP threads made a step 18x slower
    (measured on 2 shared cores: 10 ms median per step with 1 thread, 180 ms with 2)."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _layer_shapes(model: nn.Module, images: torch.Tensor) -> dict[str, tuple]:
    """Per-image (input, output) shapes of each layer, recorded by forward hooks."""
    seen: dict[str, tuple] = {}
    handles = [getattr(model, name).register_forward_hook(
        lambda _m, args, out, name=name: seen.__setitem__(
            name, (tuple(args[0].shape[1:]), tuple(out.shape[1:]))))
        for name in LAYER_SHAPES]
    try:
        model(images)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _shapes_and_count(ctx: ClaimContext, model: nn.Module) -> dict[str, Any]:
    """What the network's structure is: outputs per batch size, layer shapes, parameters."""
    generator = torch.Generator().manual_seed(ctx.seed)
    outputs = {}
    for n in FORWARD_BATCHES:
        images = (torch.rand(n, 3, 32, 32, generator=generator) * 2 - 1).to(ctx.device)
        outputs[n] = tuple(model(images).shape)
    return {"outputs": outputs, "layers": _layer_shapes(model, images),
            "shapes": {name: tuple(p.shape) for name, p in model.named_parameters()},
            "count": parameter_count(model)}


def _tf32_possible(device: torch.device) -> bool:
    """True where convolutions (cuDNN's default on CUDA) or matrix products (when this
    process allows it) may round their inputs to TF32."""
    return device.type == "cuda" and (torch.backends.cudnn.allow_tf32
                                      or torch.backends.cuda.matmul.allow_tf32)


def judge_architecture(ctx: ClaimContext) -> Outcome:
    torch.manual_seed(ctx.seed)
    model = LeNet().to(ctx.device).eval()
    layer_judge = LayerJudge(model, ctx.device, _tf32_possible(ctx.device))
    with torch.no_grad(), _single_thread(ctx.device):
        seen = _shapes_and_count(ctx, model)
        run = run_property(layer_cases(), layer_judge, LAYER_EXAMPLES, LayerCase.describe)
    outputs, layers = seen["outputs"], seen["layers"]
    outputs_ok = all(outputs[n] == (n, NUM_CLASSES) for n in FORWARD_BATCHES)
    structure_ok = (outputs_ok and seen["count"] == PARAMETER_COUNT
                    and seen["shapes"] == PARAMETER_SHAPES and layers == LAYER_SHAPES)
    behaviour = (f"each layer equals its definition on {run.tried} generated inputs"
                 if run.held else f"{run.problem} on {run.counterexample}")
    outcome = judged(structure_ok and run.held, Verdict.HOLDS,
                     f"(N,3,32,32) -> (N,10) for N in {FORWARD_BATCHES}: {outputs_ok}; "
                     f"{seen['count']:,} parameters; layer shapes as the tutorial's: "
                     f"{layers == LAYER_SHAPES}; {behaviour}",
                     output_shapes={str(n): list(s) for n, s in outputs.items()},
                     parameters=seen["count"], expected_parameters=PARAMETER_COUNT,
                     parameter_shapes={k: list(v) for k, v in seen["shapes"].items()},
                     layer_shapes={k: [list(i), list(o)] for k, (i, o) in layers.items()},
                     inputs_tried=run.tried, smallest_failing_input=run.counterexample,
                     problem=run.problem or None, tolerance=layer_judge.atol,
                     worst_error_per_layer={k: f"{v:.1e}" for k, v in layer_judge.worst.items()})
    return replace(outcome, inputs_tried=run.tried)


def as_tutorial_tensors(pixels: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [-1, 1], as ToTensor then Normalize(0.5, 0.5) give."""
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(255)
    mean = torch.tensor(NORMALIZE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(NORMALIZE_STD).view(1, 3, 1, 1)
    return ((images - mean) / std).contiguous()


def _split_tensors(source: DataSource, train: bool, indices: np.ndarray,
                   device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    split = tutorial_split(source, train)
    images = as_tutorial_tensors(split.data[indices])
    labels = torch.as_tensor(np.asarray(split.targets)[indices], dtype=torch.int64)
    return images.to(device), labels.to(device)


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(images).argmax(dim=1) == labels).float().mean())


@dataclass(frozen=True)
class TrainingRun:
    """What a short SGD run observed."""

    steps: int
    initial_loss: float  # mean over the first LOSS_WINDOW steps
    final_loss: float  # mean over the last LOSS_WINDOW steps
    accuracy_before: float  # held-out accuracy of the untrained network
    accuracy_after: float

    @property
    def learned(self) -> bool:
        return (self.final_loss < MAX_LOSS_RATIO * self.initial_loss
                and self.accuracy_after > MIN_ACCURACY)


def short_training_run(source: DataSource, device: torch.device, seed: int) -> TrainingRun:
    """Seeded SGD on LeNet: ``steps`` batches drawn without replacement from a seeded
    permutation of the train split, accuracy on the first EVAL_IMAGES test images."""
    steps = STEPS_SYNTHETIC if source.synthetic else STEPS_REAL
    order = torch.randperm(len(tutorial_split(source, True)),
                           generator=torch.Generator().manual_seed(seed))
    images, labels = _split_tensors(source, True, order[:steps * BATCH_SIZE].numpy(), device)
    test_images, test_labels = _split_tensors(source, False, np.arange(EVAL_IMAGES), device)
    with _single_thread(device):
        train = make_train_step(device, lr=LEARNING_RATE, momentum=MOMENTUM, seed=seed)
        before = _accuracy(train.model, test_images, test_labels)
        train.model.train()
        losses = [train.step(images[i:i + BATCH_SIZE], labels[i:i + BATCH_SIZE]).detach()
                  for i in range(0, steps * BATCH_SIZE, BATCH_SIZE)]
        after = _accuracy(train.model, test_images, test_labels)
    curve = torch.stack(losses).cpu()  # one read at the end: CUDA steps stay asynchronous
    return TrainingRun(steps, float(curve[:LOSS_WINDOW].mean()),
                       float(curve[-LOSS_WINDOW:].mean()), before, after)


def judge_learns(ctx: ClaimContext) -> Outcome:
    run = short_training_run(ctx.data, ctx.device, ctx.seed)
    return replace(judged(run.learned, Verdict.HOLDS,
                  f"{data_label(ctx.data)}, {run.steps} SGD steps of {BATCH_SIZE}: loss "
                  f"{run.initial_loss:.3f} -> {run.final_loss:.3f}, held-out accuracy "
                  f"{run.accuracy_before:.1%} -> {run.accuracy_after:.1%} (chance {CHANCE:.0%})",
                  data_set=ctx.data.describe(), steps=run.steps, batch_size=BATCH_SIZE,
                  lr=LEARNING_RATE, momentum=MOMENTUM, initial_loss=run.initial_loss,
                  final_loss=run.final_loss, accuracy_before=run.accuracy_before,
                  accuracy_after=run.accuracy_after, eval_images=EVAL_IMAGES,
                  thresholds={"max_loss_ratio": MAX_LOSS_RATIO,
                              "min_accuracy": MIN_ACCURACY}), inputs_tried=1)


LAYER_SPACE = InputSpace(
    "LeNet's layers against their definitions", dtypes=("float32",),
    examples=LAYER_EXAMPLES,
    facets=(("layers", LAYERS), ("batch sizes", BATCH_SIZES_RANGE),
            ("image sides", SIDES_RANGE), ("values", ("continuous", "ties and zeros"))))

#: One seeded run: the statement is about learning, not about an input space; declared so
#: the coverage line says so.
LEARNING_SPACE = InputSpace(
    "LeNet's short SGD run", dtypes=("float32",), examples=1,
    facets=(("steps", (f"{STEPS_SYNTHETIC} (synthetic)", f"{STEPS_REAL} (real)")),
            ("batch", (BATCH_SIZE,)), ("held-out images", (EVAL_IMAGES,))))

CLAIMS: tuple[Claim, ...] = (
    Claim("lenet.architecture", SECTION,
          "The tutorial's LeNet (conv 3->6 5x5, max-pool 2, conv 6->16 5x5, max-pool 2, "
          "fully connected 400->120->84->10) maps a batch of 3x32x32 images to 10 scores "
          "per image and has 62,006 parameters.",
          f"{WHERE}: the LeNet figure and the network the tutorial goes on to define",
          Verdict.HOLDS, judge_architecture, inputs=LAYER_SPACE),
    Claim("lenet.learns", SECTION,
          "A short SGD run with cross-entropy loss on CIFAR-10 lowers LeNet's loss and "
          "classifies held-out images better than chance.",
          f"{WHERE}: the training the tutorial builds towards (SGD, CrossEntropyLoss)",
          Verdict.HOLDS, judge_learns, inputs=LEARNING_SPACE),
)
