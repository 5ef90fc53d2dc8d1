"""Reading tutorials: the shared post's blocks and the outputs it labels, a sphinx-gallery
script's code and ``# Out:`` comments, a notebook's cells and stored outputs, and the
one-line errors for what is not a tutorial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blitzbench.errors import NotATutorialError, NotebookFormatError
from blitzbench.tutorial.sources import read_tutorial

TUTORIALS = Path(__file__).parent / "tutorials"
SHARED_POST = Path(__file__).parents[1].parent / "shared" / "tutorial" / \
    "000_49fffafa504c6e97.txt"


@pytest.mark.skipif(not SHARED_POST.is_file(), reason=f"the shared post {SHARED_POST} is "
                                                      f"absent from this checkout")
def test_the_shared_post_has_13_blocks_and_7_shown_outputs():
    tutorial = read_tutorial(SHARED_POST)
    assert tutorial.format == "markdown"
    assert [b.line for b in tutorial.blocks] == [28, 67, 85, 112, 144, 160, 174, 187, 202,
                                                 208, 223, 247, 269]
    shown = [b.index for b in tutorial.blocks if b.expected is not None]
    assert shown == [5, 6, 7, 8, 10, 11, 12]  # the fences after an "输出" label
    assert tutorial.blocks[7].expected.startswith("tensor([[27., 27.],")
    assert "dataiter.next()" in tutorial.blocks[-1].code


def test_markdown_output_labels_and_untagged_fences():
    blocks = read_tutorial(TUTORIALS / "basics.md").blocks
    assert [b.expected for b in blocks] == [
        "10", "30", "True\n<object object at 0x00000226055E8940>", "AddBackward0"]
    assert blocks[1].code == "print(total * 3)\n"
    assert not blocks[0].display_last


def test_gallery_code_between_comment_blocks_and_out_comments():
    blocks = read_tutorial(TUTORIALS / "gallery_tensors.py").blocks
    assert [b.line for b in blocks] == [8, 15, 24, 35, 44]
    assert blocks[0].code.startswith("import torch") and blocks[0].expected is None
    assert blocks[1].expected == ("tensor([[3., 3.],\n        [3., 3.]], "
                                  "grad_fn=<AddBackward0>)")
    assert "Deterministic" not in "".join(b.code for b in blocks)  # text is not code
    assert blocks[4].expected == "tensor([2., 2.])"


def test_notebook_cells_outputs_and_display():
    blocks = read_tutorial(TUTORIALS / "notebook_basics.ipynb").blocks
    assert [(b.line, b.expected) for b in blocks] == [
        (2, "24"), (3, "6"), (4, "[2, 4, 6]"), (5, None)]
    assert blocks[0].code.startswith("%matplotlib inline\n")
    assert blocks[2].display_last and blocks[2].label == "block 3 (cell 4)"


def test_a_malformed_notebook_is_one_line_with_its_own_code(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [{"cell_type": "code", "source": ["print(1)"]\n')
    with pytest.raises(NotebookFormatError, match=r"not valid JSON \(line 2") as caught:
        read_tutorial(path)
    assert caught.value.exit_code == 21 and "\n" not in str(caught.value)


@pytest.mark.parametrize("document, problem", [
    ({"nbformat": 3, "cells": []}, "nbformat 3"),
    ({"nbformat": 4}, "no list of cells"),
    ({"nbformat": 4, "cells": [{"cell_type": "code", "source": 5}]}, "cell 1"),
])
def test_notebooks_that_are_json_but_not_notebooks(tmp_path, document, problem):
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(document))
    with pytest.raises(NotebookFormatError, match=problem):
        read_tutorial(path)


def test_no_code_blocks_or_no_file_is_not_a_tutorial(tmp_path):
    with pytest.raises(NotATutorialError, match="holds no code block") as caught:
        read_tutorial(TUTORIALS / "no_code.md")
    assert caught.value.exit_code == 20
    with pytest.raises(NotATutorialError, match="does not exist"):
        read_tutorial(tmp_path / "absent.md")
    (tmp_path / "binary.md").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(NotATutorialError, match="not UTF-8"):
        read_tutorial(tmp_path / "binary.md")


def test_the_tutorial_exit_codes_are_distinct_from_every_other():
    from blitzbench import errors

    ours = [errors.NotATutorialError, errors.NotebookFormatError, errors.BlockTimeoutError,
            errors.BlockCrashedError, errors.BlockInputError, errors.BlockOutsideWriteError]
    others = {cls.exit_code for cls in vars(errors).values() if isinstance(cls, type)
              and issubclass(cls, errors.BlitzError) and cls not in ours}
    codes = [cls.exit_code for cls in ours]
    assert len(set(codes)) == len(codes) and not set(codes) & (others | {0, 130})


LINE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl",
                                                                          "Zp")),
               min_size=1, max_size=30).filter(lambda s: s.strip() and "`" not in s
                                               and "~" not in s)
BLOCK = st.tuples(st.lists(LINE, min_size=1, max_size=4),
                  st.none() | st.lists(LINE, min_size=1, max_size=3),
                  st.sampled_from(["<u>输出</u>：", "<u>输出:</u>", "Output:", ""]),
                  st.sampled_from(["python", "py"]))


def _post(blocks) -> str:
    """A post in the shared post's style: prose, a code fence, then the output fence after
    a label (or, unlabelled, as an untagged fence right after the code)."""
    parts = ["# A generated post", ""]
    for code, output, label, language in blocks:
        parts += ["Some prose.", "", f"```{language}", *code, "```", ""]
        if output is not None:
            parts += [label, ""] if label else []
            parts += ["```python" if label else "```", *output, "```", ""]
    return "\n".join(parts)


@settings(max_examples=80, deadline=None)
@given(blocks=st.lists(BLOCK, min_size=1, max_size=5))
def test_a_generated_post_reads_back_block_by_block(tmp_path_factory, blocks):
    path = tmp_path_factory.mktemp("post") / "post.md"
    path.write_text(_post(blocks), encoding="utf-8")
    read = read_tutorial(path).blocks
    assert [b.code for b in read] == ["\n".join(code) + "\n" for code, *_ in blocks]
    assert [b.expected for b in read] == [None if output is None else "\n".join(output)
                                          for _, output, *_ in blocks]
