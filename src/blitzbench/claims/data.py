"""Claims of the tutorial's CIFAR-10 section: the transform, the data set, the loader,
``dataiter.next()`` and ``make_grid``.

These are claims about data, the same on every device; on CUDA each judge also moves its
tensors to the device (from pinned memory, as a GPU training loop would) and checks they
arrive intact. Every summary names the data set used: synthetic or real CIFAR-10.

The data set objects are cached per data source for the life of the process: reading the
train split through torchvision takes ~0.4 s, and five judges use it.

The statements are judged over the inputs they speak of (claims/properties.py generates
them): the transform per channel and per pixel on generated images
(claims/data_transform.py), the data set against the images and labels its generator
regenerates (claims/data_truth.py: synthetic CIFAR-10 knows what every image is), the
loader over worker counts, seeds, batch sizes, index sets and two epochs
(claims/data_loading.py), ``dataiter.next()`` on every kind of loader iterator,
make_grid's layout rule on generated batches (claims/data_grid.py), and what the
``__main__`` guard does for a loader's workers, with scripts run in fresh interpreters under
every start method (claims/data_guard.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torchvision
from PIL import Image
from torch.utils.data import Dataset

from blitzbench.claims.data_grid import (
    GRID_BATCHES,
    PAD_VALUES,
    PADDINGS,
    ROW_LENGTHS,
    GridCase,
    expected_grid,
    grid_cases,
    grid_problem,
)
from blitzbench.claims.data_guard import (
    GUARD_SPACE,
    collect_runs,
    guard_outcome,
    offered_start_methods,
    warm_main_guard,
)
from blitzbench.claims.data_loading import (
    BATCH_SIZES,
    EPOCHS,
    SUBSET_SIZES,
    IndexedSubset,
    LoaderCase,
    epoch_problem,
    loader_cases,
    observe_epochs,
    unless_worker_lost,
)
from blitzbench.claims.data_transform import (
    IMAGE_SIDES,
    defined,
    describe_pixels,
    fixed_problem,
    pixel_images,
    ramp_image,
    transform_problem,
)
from blitzbench.claims.data_truth import TRUTH_SAMPLE, truth_problem
from blitzbench.claims.model import Claim, ClaimContext, InputSpace, Outcome, Verdict
from blitzbench.claims.properties import budget, run_property
from blitzbench.claims.verdicts import judged
from blitzbench.workloads.cifar import (
    CLASSES,
    IMAGE_SHAPE,
    TEST_COUNT,
    TRAIN_COUNT,
    TRAIN_FILES,
    DataSource,
    make_loader,
    stop_workers,
    tutorial_split,
    tutorial_transform,
    unnormalize,
)

__all__ = ["CLAIMS", "SECTION", "IndexedSubset", "data_label", "transform_problem"]

SECTION = "data"
WHERE = "LeNet / 显示CIFAR数据集图片"
BATCH_SIZE = 4  # the tutorial's loader settings
NUM_WORKERS = 2
NORMALIZE_EXAMPLES = 60  # generated images at the quick depth (~1 ms each)
TUTORIAL_SUBSET = 60  # images in the tutorial-settings epochs: 15 batches of 4
#: Seeded loaders per worker count (starting workers costs ~0.1 s an epoch on 2 cores) and
#: Hypothesis examples of the in-process loader (cheap enough to shrink), quick depth.
WORKER_CASES = {1: 1, 2: 1}
IN_PROCESS_EXAMPLES = 8
ITER_SUBSET = 16  # images behind the dataiter checks: only the first batch is read
#: (workers, shuffle) of the iterators checked: the tutorial's trainloader is (2, True),
#: its testloader (2, False); single-process iterators are another class.
ITER_CASES = ((2, True), (2, False), (0, True), (0, False))
BATCHES_MOVED = 3  # batches copied to the device and back on CUDA
GRID_SHAPE = (3, 36, 138)  # 4 images in one row, padding 2: 32 + 2*2 high, 4*(32+2) + 2 wide
GRID_PADDING = 2  # make_grid's default
GRID_ROW = 8  # make_grid's default nrow
GRID_EXAMPLES = 40  # generated batches at the quick depth


def data_label(source: DataSource) -> str:
    """Which CIFAR-10 a summary speaks of, short enough for the claim matrix's column."""
    return "synthetic CIFAR-10" if source.synthetic else f"real CIFAR-10 at {source.root}"


def _arrives_intact(tensor: torch.Tensor, device: torch.device) -> bool:
    """Copy a (pinned, on CUDA) host tensor to ``device`` and back; true if unchanged."""
    if device.type != "cuda":
        return True
    moved = tensor.to(device, non_blocking=True)
    torch.cuda.synchronize(device)  # the copy is asynchronous from pinned memory
    return torch.equal(moved.cpu(), tensor)


def judge_normalize(ctx: ClaimContext) -> Outcome:
    """Generated images first (a failure shrinks to the smallest), then the fixed ones."""
    ramp = ramp_image()
    fixed = [ramp, *tutorial_split(ctx.data, True).data[:BATCH_SIZE]]
    run = run_property(pixel_images(), transform_problem, NORMALIZE_EXAMPLES, describe_pixels)
    problem = (f"{run.problem} on {run.counterexample}" if not run.held
               else fixed_problem(fixed))
    normalized = tutorial_transform()(Image.fromarray(ramp))
    values = normalized[0].flatten()[np.argsort(ramp[..., 0].flatten())]
    recovered = unnormalize(normalized.to(ctx.device)).cpu()
    tried = run.tried + (len(fixed) if run.held else 0)
    return replace(judged(
        problem is None and _arrives_intact(normalized, ctx.device), Verdict.HOLDS,
        f"pixels 0..255 map to [{float(values[0]):g}, {float(values[-1]):g}]; "
        + (problem or f"every channel and pixel of {tried} images (all 256 levels, "
                      f"{BATCH_SIZE} CIFAR-10, {run.tried} generated) as defined"),
        first=float(values[0]), last=float(values[-1]), pixel_128=float(values[128]),
        max_error=float((normalized.double() - defined(ramp)).abs().max()),
        unnormalize_max_error=float((recovered.double() - defined(ramp) / 2 - 0.5).abs()
                                    .max()),
        strictly_increasing=bool((values[1:] > values[:-1]).all()),
        inputs_tried=tried, smallest_failing_input=run.counterexample,
        problem=problem), inputs_tried=tried)


def judge_layout(ctx: ClaimContext) -> Outcome:
    train, test = tutorial_split(ctx.data, True), tutorial_split(ctx.data, False)
    image, _ = train[0]
    sizes = (len(train), len(test))
    raw_shape = tuple(train.data.shape)
    labels = {split: sorted(set(np.asarray(d.targets).tolist()))
              for split, d in (("train", train), ("test", test))}
    order_ok = tuple(train.classes) == CLASSES and tuple(test.classes) == CLASSES
    truth, compared = (truth_problem(ctx.data, ctx.seed, {True: train, False: test})
                       if ctx.data.synthetic
                       else ("", 0))
    ok = (sizes == (TRAIN_COUNT, TEST_COUNT) and raw_shape == (TRAIN_COUNT, 32, 32, 3)
          and tuple(image.shape) == IMAGE_SHAPE and image.dtype == torch.float32
          and order_ok and all(v == list(range(len(CLASSES))) for v in labels.values())
          and not truth and _arrives_intact(image, ctx.device))
    against = (f"; all {sum(sizes):,} labels and {compared} images as generated: {not truth}"
               if ctx.data.synthetic else "; no ground truth to regenerate for real data")
    return replace(judged(
        ok, Verdict.HOLDS,
        f"{data_label(ctx.data)}: {sizes[0]:,} train / {sizes[1]:,} test images of "
        f"{'x'.join(map(str, image.shape))}, classes in the tutorial's order: {order_ok}"
        f"{against}" + (f" ({truth})" if truth else ""),
        data_set=ctx.data.describe(), data_kind=ctx.data.kind, train_images=sizes[0],
        test_images=sizes[1], raw_shape=list(raw_shape), image_shape=list(image.shape),
        classes=list(train.classes), labels_seen=labels, images_compared=compared,
        truth_problem=truth or None), inputs_tried=compared or None)


def _pinned_batches_intact(dataset: Dataset, ctx: ClaimContext) -> bool:
    """On CUDA: the tutorial's loader, pinned, delivers batches that survive the copy."""
    if ctx.device.type != "cuda":
        return True
    loader = make_loader(dataset, BATCH_SIZE, shuffle=True, num_workers=NUM_WORKERS,
                         pin_memory=True, seed=ctx.seed)
    batches = iter(loader)
    try:
        with unless_worker_lost(f"pinned loader, {NUM_WORKERS} workers"):
            return all(_arrives_intact(next(batches)[0], ctx.device)
                       for _ in range(BATCHES_MOVED))
    finally:
        stop_workers(batches)


def _seeded_case(workers: int, rng: np.random.Generator, size: int) -> LoaderCase:
    """A loader case drawn from ``rng`` over the same space Hypothesis draws from."""
    count = min(size, int(rng.integers(SUBSET_SIZES[0], SUBSET_SIZES[1] + 1)))
    return LoaderCase(workers, int(rng.integers(2**31)),
                      int(rng.integers(BATCH_SIZES[0], BATCH_SIZES[1] + 1)),
                      tuple(rng.choice(size, size=count, replace=False).tolist()))


def _loader_search(train: Dataset, ctx: ClaimContext) -> tuple[int, str | None, str | None]:
    """(loaders tried, the problem, the failing loader): the tutorial's settings first,
    then seeded loaders with 1 and 2 workers (starting workers costs ~0.1 s an epoch, too
    slow for Hypothesis to shrink), then Hypothesis over in-process loaders. Stops at the
    first loader that breaks the rule."""
    rng = np.random.default_rng(ctx.seed)
    cases = [LoaderCase(NUM_WORKERS, ctx.seed, BATCH_SIZE, tuple(sorted(rng.choice(
        len(train), size=min(TUTORIAL_SUBSET, len(train)), replace=False).tolist())))]
    cases += [_seeded_case(w, rng, len(train)) for w, n in WORKER_CASES.items()
              for _ in range(budget(n))]
    for tried, case in enumerate(cases, start=1):
        problem = epoch_problem(case, observe_epochs(train, case))
        if problem is not None:
            return tried, problem, case.describe()
    run = run_property(loader_cases(0, len(train)),
                       lambda case: epoch_problem(case, observe_epochs(train, case)),
                       IN_PROCESS_EXAMPLES, LoaderCase.describe)
    return len(cases) + run.tried, run.problem or None, run.counterexample


def judge_loader(ctx: ClaimContext) -> Outcome:
    train = tutorial_split(ctx.data, True)
    tried, problem, failing = _loader_search(train, ctx)
    ok = problem is None and _pinned_batches_intact(train, ctx)
    return replace(judged(
        ok, Verdict.HOLDS,
        f"{data_label(ctx.data)}: {tried} loaders (the tutorial's batch 4 with 2 workers, "
        f"then workers 1, 2 and 0 at generated seeds, batch sizes and index sets), "
        f"{EPOCHS} epochs each: every epoch a new permutation, delivered as drawn, each "
        f"batch the drawn images and labels: {problem is None}"
        + (f" ({problem} on {failing})" if problem else ""),
        data_set=ctx.data.describe(), tutorial_subset=TUTORIAL_SUBSET,
        seeded_worker_loaders=WORKER_CASES, in_process_examples=IN_PROCESS_EXAMPLES,
        epochs=EPOCHS, inputs_tried=tried, problem=problem, smallest_failing_input=failing,
        pinned=ctx.device.type == "cuda"), inputs_tried=tried)


def _first_batch(ctx: ClaimContext, workers: int, shuffle: bool) -> dict[str, object]:
    """The tutorial's two lines on one kind of loader iterator: ``dataiter.next()`` (kept:
    its AttributeError, or what it returned), then ``next(dataiter)``'s batch checked
    against the data set's items at the indices it carries."""
    split = tutorial_split(ctx.data, shuffle)  # shuffled: trainloader; in order: testloader
    subset = IndexedSubset(split, list(range(ITER_SUBSET)))
    dataiter = iter(make_loader(subset, BATCH_SIZE, shuffle=shuffle, num_workers=workers,
                                seed=ctx.seed))
    try:
        with unless_worker_lost(f"{workers} workers, shuffle={shuffle}"):
            try:
                legacy = f"returned {type(dataiter.next()).__name__}"
            except AttributeError as exc:
                legacy = f"AttributeError: {exc}"
            images, labels, indices = next(dataiter)
    finally:
        stop_workers(dataiter)
    items = [split[i] for i in indices.tolist()]
    batch_ok = (tuple(images.shape) == (BATCH_SIZE, *IMAGE_SHAPE)
                and labels.dtype == torch.int64
                and torch.equal(images, torch.stack([image for image, _ in items]))
                and labels.tolist() == [label for _, label in items])
    return {"workers": workers, "shuffle": shuffle, "legacy": legacy,
            "legacy_gone": legacy.startswith("AttributeError"), "batch_ok": batch_ok,
            "images_shape": list(images.shape), "labels": labels.tolist()}


def judge_dataiter_next(ctx: ClaimContext) -> Outcome:
    seen = [_first_batch(ctx, workers, shuffle) for workers, shuffle in ITER_CASES]
    working = [f"{s['workers']} workers, shuffle={s['shuffle']}" for s in seen
               if not s["legacy_gone"]]
    batches_ok = all(s["batch_ok"] for s in seen)
    evidence = {"iterators": seen, "data_set": ctx.data.describe(),
                "modern_form": "next(dataiter)", "inputs_tried": len(seen)}
    if not batches_ok:
        return Outcome(Verdict.FAILS, "contradicted: next(dataiter) did not give the data "
                       "set's first batch on every iterator", evidence, len(seen))
    if len(working) == len(seen):
        return Outcome(Verdict.HOLDS, "dataiter.next() works again on every loader "
                       "iterator: the tutorial's legacy method is back", evidence, len(seen))
    if working:
        return Outcome(Verdict.CONDITIONAL, f"dataiter.next() works on some iterators only "
                       f"({'; '.join(working)}), raises AttributeError on the others",
                       evidence, len(seen))
    return Outcome(Verdict.OUTDATED, f"dataiter.next() raises AttributeError on all "
                   f"{len(seen)} kinds of loader iterator (workers 2 and 0, shuffled and "
                   f"not); next(dataiter) gives the data set's batch of images "
                   f"{tuple(seen[0]['images_shape'])} ({data_label(ctx.data)})",
                   evidence, len(seen))


def _tutorial_grid(ctx: ClaimContext) -> tuple[bool, list[int]]:
    """The tutorial's grid: 4 CIFAR-10 images with make_grid's defaults."""
    train = tutorial_split(ctx.data, True)
    images = torch.stack([train[i][0] for i in range(BATCH_SIZE)])
    grid = torchvision.utils.make_grid(images.to(ctx.device)).cpu()
    ok = tuple(grid.shape) == GRID_SHAPE and torch.equal(
        grid, expected_grid(images, GRID_ROW, GRID_PADDING, 0.0))
    return ok, list(grid.shape)


def _single_image(ctx: ClaimContext) -> str:
    """What make_grid does with a batch of one: 'padded' (the rule), 'unpadded' (the image
    itself comes back), or 'other'."""
    image = torch.rand(1, *IMAGE_SHAPE, generator=torch.Generator().manual_seed(ctx.seed))
    grid = torchvision.utils.make_grid(image.to(ctx.device)).cpu()
    if torch.equal(grid, expected_grid(image, GRID_ROW, GRID_PADDING, 0.0)):
        return "padded"
    return "unpadded" if torch.equal(grid, image[0]) else "other"


def judge_make_grid(ctx: ClaimContext) -> Outcome:
    tutorial_ok, shape = _tutorial_grid(ctx)
    run = run_property(grid_cases(), lambda case: grid_problem(case, ctx.device),
                       GRID_EXAMPLES, GridCase.describe)
    single = _single_image(ctx)
    evidence = {"grid_shape": shape, "expected_shape": list(GRID_SHAPE),
                "tutorial_grid_as_rule": tutorial_ok, "inputs_tried": run.tried + 2,
                "smallest_failing_input": run.counterexample, "problem": run.problem or None,
                "batch_of_one": single, "data_set": ctx.data.describe()}
    rule = (f"the tutorial's 4 images make a {'x'.join(map(str, shape))} grid; "
            f"{run.tried} generated batches of {GRID_BATCHES[0]}-{GRID_BATCHES[1]} "
            f"laid out by the rule")
    if not (tutorial_ok and run.held) or single == "other":
        found = run.problem and f"{run.problem} on {run.counterexample}"
        return Outcome(Verdict.FAILS, f"contradicted: {rule}: "
                       f"{found or f'tutorial grid {tutorial_ok}, batch of one {single}'}",
                       evidence, run.tried + 2)
    if single == "unpadded":
        return Outcome(Verdict.CONDITIONAL, f"{rule}; but a batch of one image comes back "
                       f"as the image itself, without padding", evidence, run.tried + 2)
    return Outcome(Verdict.HOLDS, f"{rule}, a batch of one too", evidence, run.tried + 2)


def judge_main_guard(ctx: ClaimContext) -> Outcome:
    """The loader script, guarded and unguarded, run in fresh interpreters under every
    start method (started by :func:`warm_main_guard` when the claim was warmed)."""
    runs, timing = collect_runs(ctx)
    return guard_outcome(runs, offered_start_methods(), data_label(ctx.data), **timing)


NORMALIZE_SPACE = InputSpace(
    "ToTensor + Normalize per channel and pixel", dtypes=("uint8",),
    examples=NORMALIZE_EXAMPLES + 1 + BATCH_SIZE,
    facets=(("images", ("all 256 levels per channel", f"{BATCH_SIZE} CIFAR-10",
                        f"generated {IMAGE_SIDES[0]}..{IMAGE_SIDES[1]} x "
                        f"{IMAGE_SIDES[0]}..{IMAGE_SIDES[1]}")),))
LAYOUT_SPACE = InputSpace(
    "CIFAR-10 against its generator", examples=2 * TRUTH_SAMPLE + 2 * (TRAIN_FILES + 1),
    facets=(("splits", ("train", "test")), ("labels", ("all",)),
            ("images", (f"each file's first and last, {TRUTH_SAMPLE} seeded per split",))))
LOADER_SPACE = InputSpace(
    "the shuffled loader, epoch by epoch", epochs=tuple(range(1, EPOCHS + 1)),
    workers=(*WORKER_CASES, 0), examples=1 + sum(WORKER_CASES.values()) + IN_PROCESS_EXAMPLES,
    facets=(("batch sizes", (f"{BATCH_SIZES[0]}..{BATCH_SIZES[1]}",)),
            ("index sets", (f"{SUBSET_SIZES[0]}..{SUBSET_SIZES[1]} train images",)),
            ("seeds", ("generated",))))
ITER_SPACE = InputSpace(
    "dataiter.next() and next(dataiter)", workers=(2, 0), examples=len(ITER_CASES),
    facets=(("loaders", ("shuffled train", "in-order test")),))
GRID_SPACE = InputSpace(
    "make_grid's layout rule", dtypes=("float32",), examples=GRID_EXAMPLES + 2,
    facets=(("batch sizes", (f"{GRID_BATCHES[0]}..{GRID_BATCHES[1]}", 1, "4 CIFAR-10")),
            ("nrow", (f"{ROW_LENGTHS[0]}..{ROW_LENGTHS[1]}",)),
            ("padding", (f"{PADDINGS[0]}..{PADDINGS[1]}",)), ("pad_value", PAD_VALUES)))

CLAIMS: tuple[Claim, ...] = (
    Claim("data.normalize", SECTION,
          "ToTensor followed by Normalize with mean 0.5 and std 0.5 per channel maps each "
          "channel's pixel values v in 0..255 to (v/255 - 0.5)/0.5, onto [-1, 1] (0 to -1, "
          "255 to 1), and img / 2 + 0.5 undoes the normalization.",
          f"{WHERE}: the transform (ToTensor, Normalize) and imshow's unnormalize line",
          Verdict.HOLDS, judge_normalize, inputs=NORMALIZE_SPACE),
    Claim("data.cifar_layout", SECTION,
          "CIFAR-10 as torchvision reads it has 50,000 training and 10,000 test images of "
          "3x32x32 in 10 classes, named in the tutorial's order, each image with its own "
          "label.",
          f"{WHERE}: CIFAR10(root, train=...), print(len(trainset)) and the classes tuple",
          Verdict.HOLDS, judge_layout, inputs=LAYOUT_SPACE),
    Claim("data.loader", SECTION,
          "The tutorial's DataLoader (batch 4, shuffled, 2 workers) yields float batches of "
          "4x3x32x32 with int64 labels; every epoch is a new permutation of the data set, "
          "delivered in the order drawn with any number of workers, each batch holding the "
          "drawn images and their labels.",
          f"{WHERE}: torch.utils.data.DataLoader(trainset, batch_size=4, shuffle=True, "
          f"num_workers=2)", Verdict.HOLDS, judge_loader, inputs=LOADER_SPACE),
    Claim("data.dataiter_next", SECTION,
          "The tutorial's dataiter.next() no longer exists on DataLoader iterators "
          "(AttributeError); the built-in next(dataiter) gives the batch.",
          f"{WHERE}: images, labels = dataiter.next()", Verdict.OUTDATED,
          judge_dataiter_next, inputs=ITER_SPACE),
    Claim("data.make_grid", SECTION,
          "torchvision.utils.make_grid lays a batch in rows of nrow images (default 8) with "
          "padding pixels (default 2, of pad_value) around each: the tutorial's 4 CIFAR-10 "
          "images make one 3x36x138 row.",
          f"{WHERE}: imshow(torchvision.utils.make_grid(images))", Verdict.CONDITIONAL,
          judge_make_grid, inputs=GRID_SPACE),
    Claim("data.main_guard", SECTION,
          "A script whose DataLoader starts worker processes (num_workers=2) must keep its "
          "loading under if __name__ == '__main__':, the guard being what lets the "
          "workers run (what turns multiprocessing on).",
          f"{WHERE}: the comment on if __name__ == '__main__': above the dataiter lines",
          Verdict.CONDITIONAL, judge_main_guard, inputs=GUARD_SPACE, warm=warm_main_guard),
)
