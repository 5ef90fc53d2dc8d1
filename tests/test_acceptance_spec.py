"""Acceptance specs: the shipped default is valid, and every malformed spec is a one-line
UsageError naming the rule and the key."""

from __future__ import annotations

import pytest

from blitzbench.acceptance.spec import (
    BoundKind,
    default_spec_path,
    load_spec,
    metric_pattern,
    parse_spec,
)
from blitzbench.errors import UsageError

KNOWN = [
    "claims.all_as_expected",
    "claims.cuda.add_on_gpu",
    "lenet.train_step[batch_size=64,variant=eager].images_per_s",
    "tensor_ops.add_out[scale=memory,size=2^28].gb_per_s",
]

GOOD_RULE = """
[[rule]]
id = "lenet-floor"
metric = "lenet.train_step[batch_size=64,variant=eager].images_per_s"
device = "cpu"
op = ">="
bound = 100
source = "test"
"""


def _parse(text: str):
    return parse_spec(text, "test.toml", KNOWN)


def test_a_good_rule_parses_with_defaults():
    spec = _parse(GOOD_RULE)
    (rule,) = spec.rules
    assert rule.id == "lenet-floor"
    assert rule.kind is BoundKind.ABSOLUTE
    assert rule.bound == 100.0
    assert rule.describe_bound("images/s") == ">= 100 images/s"


def test_metric_pattern_treats_brackets_literally():
    regex = metric_pattern("tensor_ops.add_out[scale=memory,size=*].gb_per_s")
    assert regex.match("tensor_ops.add_out[scale=memory,size=2^28].gb_per_s")
    assert not regex.match("tensor_ops.add_out[scale=tutorial,size=5x3].gb_per_s")
    assert not metric_pattern("claims.[a]").match("claims.a")


def test_default_spec_is_valid_against_the_real_catalog(data_source):
    from blitzbench.runner.plan import known_metrics

    spec = load_spec(None, known_metrics(data_source))
    ids = [r.id for r in spec.rules]
    assert {"claims-as-expected", "cpu-cuda-numerics", "hbm-bandwidth", "bf16-matmul",
            "pinned-h2d", "lenet-cuda-speedup", "loader-scaling"} <= set(ids)
    assert all(rule.source for rule in spec.rules), "every default bound says where it is from"
    assert default_spec_path().is_file()


BAD_SPECS = {
    "malformed TOML": ("[[rule]\nid=", "malformed TOML"),
    "unknown top-level key": ("versoin = 1\n" + GOOD_RULE, "unknown key 'versoin'"),
    "unknown rule key": (GOOD_RULE.replace("bound = 100", "bonud = 100"),
                         "unknown key 'bonud' (did you mean 'bound'?)"),
    "missing bound": (GOOD_RULE.replace("bound = 100", ""), "missing bound"),
    "wrong type": (GOOD_RULE.replace("bound = 100", 'bound = "fast"'),
                   "bound must be int or float or bool"),
    "NaN bound": (GOOD_RULE.replace("bound = 100", "bound = nan"), "not a finite number"),
    "infinite bound": (GOOD_RULE.replace("bound = 100", "bound = inf"), "not a finite number"),
    "huge float": (GOOD_RULE.replace("bound = 100", "bound = 1e300"), "out of range"),
    "huge integer": (GOOD_RULE.replace("bound = 100", "bound = 99999999999999999999999"),
                     "out of range"),
    "unknown metric": (GOOD_RULE.replace("batch_size=64", "batch_size=65"), "unknown metric"),
    "unknown op": (GOOD_RULE.replace('op = ">="', 'op = ">"'), "op '>' is not one of"),
    "unknown kind": (GOOD_RULE.replace("bound = 100", 'bound = 100\nkind = "relative"'),
                     "kind 'relative' is not one of"),
    "peak fraction above 2": (GOOD_RULE.replace("bound = 100",
                                                'bound = 85\nkind = "peak_fraction"'),
                              "peak_fraction bound"),
    "baseline with >=": (GOOD_RULE.replace("bound = 100", 'bound = 10\nkind = "baseline"'),
                         'use op = "<="'),
    "bad device": (GOOD_RULE.replace('device = "cpu"', 'device = "tpu"'),
                   "device 'tpu' is not one of"),
    "bad id": (GOOD_RULE.replace('id = "lenet-floor"', 'id = "a b"'), "must be 1-80"),
    "duplicate id": (GOOD_RULE + GOOD_RULE, "used twice"),
    "no rules": ("version = 1\n", "no [[rule]] tables"),
    "newer version": ("version = 2\n" + GOOD_RULE, "version 2 is not supported"),
    "rule is not a table": ("rule = [1, 2]\n", "expected a [[rule]] table"),
    "boolean bound with >=": (GOOD_RULE.replace("bound = 100", "bound = true"),
                              "true/false bound"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_is_one_usage_error_line(case):
    text, expected = BAD_SPECS[case]
    with pytest.raises(UsageError) as excinfo:
        _parse(text)
    message = str(excinfo.value)
    assert expected in message
    assert "\n" not in message and message.startswith("spec test.toml")


def test_missing_and_oversized_spec_files(tmp_path):
    with pytest.raises(UsageError, match="file not found"):
        load_spec(tmp_path / "absent.toml", KNOWN)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (1 << 20) + "\n" + GOOD_RULE)
    with pytest.raises(UsageError, match="larger than any spec"):
        load_spec(big, KNOWN)
