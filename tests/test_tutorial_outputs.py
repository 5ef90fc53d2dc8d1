"""Output matching that knows PyTorch: tensor reprs read back, values exact where the code
is deterministic and judged by their law where it is random, addresses and progress lines
ignored, and a difference named in one line."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from blitzbench.tutorial.outputs import match_output
from blitzbench.tutorial.tensors import PrintedTensor, TextLine, parse_printed

DOUBLING = "x = torch.rand(3)\ny = x * 2\nwhile y.data.norm() < 1000:\n    y = y * 2\nprint(y)\n"
GRADIENT = "gradients = torch.FloatTensor([0.1, 1.0, 0.0001])\ny.backward(gradients)\n"
SHOWN_Y = "tensor([591.5636, 884.0807, 773.9807], grad_fn=<MulBackward0>)"
SHOWN_GRAD = " tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])"


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       scale=st.sampled_from([1e-6, 1e-2, 1.0, 37.0, 1e4]),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.int64]),
       seed=st.integers(0, 2**16))
def test_a_tensor_repr_reads_back_its_shape_dtype_and_values(shape, scale, dtype, seed):
    generator = torch.Generator().manual_seed(seed)
    tensor = (torch.randn(shape, generator=generator, dtype=torch.float64) * scale).to(dtype)
    (printed,) = parse_printed(repr(tensor))
    assert printed.shape == tuple(shape)
    assert printed.dtype == (None if dtype in (torch.float32, torch.int64) else str(dtype))
    for value, unit, true in zip(printed.values, printed.half_units,
                                 tensor.flatten().tolist(), strict=True):
        assert abs(value - true) <= unit + 1e-6 * abs(true) + 1e-300


def test_reprs_with_grad_fn_and_text_around_them():
    items = parse_printed("loss: tensor(27., grad_fn=<MeanBackward0>) done\n"
                          "tensor([[1., 1.]], requires_grad=True)")
    assert [type(i) for i in items] == [TextLine, PrintedTensor, TextLine, PrintedTensor]
    assert items[1].grad_fn == "MeanBackward0" and items[1].shape == ()
    assert items[3].requires_grad and items[3].shape == (1, 2)


def test_deterministic_values_are_exact_to_the_printed_digit():
    shown = "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"
    assert match_output("", shown, shown).difference is None
    off = match_output("", shown.replace("4.5000]]", "4.5002]]"), shown).difference
    assert off.startswith("values tensor([[4.5000, 4.5000], [4.5000, 4.5002]])")


def test_structure_is_compared_always():
    shown = "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    assert "grad_fn MulBackward0" in match_output(
        "", shown.replace("Add", "Mul"), shown).difference
    assert "shape (4,)" in match_output("", "tensor([3., 3., 3., 3.])", "tensor([[3., 3.],"
                                        " [3., 3.]])").difference
    assert "requires_grad" in match_output("", "tensor([1.])", "tensor([1.], "
                                           "requires_grad=True)").difference


def test_the_doubled_y_is_judged_by_its_norm():
    for printed, ok in (("tensor([600., 800., 900.])", True),  # norm 1345
                        ("tensor([1200., 1600., 100.])", False),  # norm 2002
                        ("tensor([100., 200., 300.])", False)):  # norm 374
        difference = match_output(DOUBLING, printed, "tensor([591.5636, 884.0807, "
                                                     "773.9807])").difference
        assert (difference is None) is ok, printed
    assert "values judged by law: doubling loop" in match_output(
        DOUBLING, SHOWN_Y, SHOWN_Y).notes


def test_the_gradient_is_judged_as_two_to_the_k_times_v():
    for k in (10, 11, 13):
        printed = f"tensor([{0.1 * 2**k:.4e}, {2.0**k:.4e}, {1e-4 * 2**k:.4e}])"
        assert match_output(GRADIENT, printed, SHOWN_GRAD).difference is None, k
    wrong = "tensor([1.0240e+02, 2.0480e+03, 1.0240e-01])"  # two different k
    assert "not 2^k" in match_output(GRADIENT, wrong, SHOWN_GRAD).difference
    not_power = f"tensor([{0.1 * 1500:.4e}, {1500.0:.4e}, {1e-4 * 1500:.4e}])"
    assert match_output(GRADIENT, not_power, SHOWN_GRAD).difference is not None


def test_torch_rand_values_are_judged_in_the_unit_interval():
    code = "r = torch.rand(3)\nprint(r)\n"
    shown = "tensor([0.4963, 0.7682, 0.0885])"
    assert match_output(code, "tensor([0.1, 0.9999, 0.])", shown).difference is None
    assert "outside [0, 1)" in match_output(code, "tensor([0.1, 1.5, 0.])", shown).difference


def test_random_values_without_a_law_are_not_compared_and_say_so():
    result = match_output("x = torch.randn(2)\nprint(x)\n", "tensor([0.3, -1.2])",
                          "tensor([1.1, 0.4])")
    assert result.difference is None and result.notes == (
        "random values not compared (no law for them)",)


def test_addresses_timestamps_progress_and_sizes_are_ignored():
    printed = ("Files already downloaded and verified\n"
               " 45%|████▌     | 77M/170M [00:03<00:04, 21.0MB/s]\n"
               "<AddBackward0 object at 0x7f3a2c1d9e80> at 2026-12-03 08:30:01.123\n"
               "torch.Size([5, 3])\n")
    shown = ("<AddBackward0 object at 0x00000226055E8940> at 2019-06-20 21:01:34\n"
             "torch.Size([5,3])")
    assert match_output("", printed, shown).difference is None


def test_shown_items_must_appear_in_order_extra_printed_ones_may_not_be_shown():
    printed = "<AddBackward0 object at 0x1>\n<AddBackward0 object at 0x1>\n"
    assert match_output("", printed, "<AddBackward0 object at 0x2>").difference is None
    assert "printed nothing" in match_output("", "", "10").difference
    assert match_output("", "a\nb\n", "b\na").difference == \
        "printed nothing where the tutorial shows 'a'"


def test_nan_matches_only_nan():
    assert match_output("", "tensor([nan, 1.])", "tensor([nan, 1.])").difference is None
    assert match_output("", "tensor([0., 1.])", "tensor([nan, 1.])").difference is not None
    assert math.isnan(parse_printed("tensor([nan])")[0].values[0])


def test_summarized_tensors_compare_their_structure_and_say_the_values_were_not():
    shown = "tensor([0., 0., 0.,  ..., 0., 0., 0.])"
    result = match_output("", "tensor([1., 1., 1.,  ..., 1., 1., 1.])", shown)
    assert result.difference is None
    assert result.notes == ("summarized values (...) not compared",)
    assert "dtype" in match_output("", "tensor([0., 0.,  ..., 0.], dtype=torch.float64)",
                                   shown).difference
