"""The ``blitzbench`` command line: one subcommand per capability.

User errors (:class:`~blitzbench.errors.BlitzError`) print one line and exit with their
own code; Ctrl-C exits 130 after the command has saved what it finished.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from blitzbench import __version__
from blitzbench.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    BlitzError,
    UsageError,
    error_line,
)

__all__ = ["main"]

#: subcommand -> module providing ``add_arguments(parser)`` and ``run(args) -> int``.
#: Each module imports no torch at module level (its run() does), so building the parser
#: for --help, report, fleet and compare stays fast; tests/test_imports.py proves it.
COMMANDS = {
    "claims": ("blitzbench.commands.claims", "judge every tutorial claim on every device"),
    "profile": ("blitzbench.commands.profile",
                "profile the LeNet step for TensorBoard (torch-tb-profiler)"),
    "report": ("blitzbench.commands.report", "render report.md and report.html for a run"),
    "accept": ("blitzbench.commands.accept",
               "hardware acceptance: claims, benchmarks, profile, verdict against a spec"),
    "fleet": ("blitzbench.commands.fleet",
              "judge the same figures from several nodes against each other"),
    "compare": ("blitzbench.commands.compare",
                "compare two runs figure by figure: FASTER, SLOWER, SAME or NOISY"),
    "ab": ("blitzbench.commands.ab",
           "compare two Python installs case by case, A and B interleaved in one sitting"),
    "tutorial": ("blitzbench.commands.tutorial",
                 "run a tutorial's own code blocks and judge each against what it shows"),
    "drift": ("blitzbench.commands.drift",
              "merge release run folders: where claim and block verdicts change"),
}


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints its usage and exits; blitzbench reports a bad option like any other
    user error: one line naming the option and where the help is, exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="blitzbench",
        description="Checks, benchmarks, profiler reports and hardware acceptance for the "
                    "PyTorch 60-minute blitz.")
    parser.add_argument("--version", action="version", version=f"blitzbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args))
    except BlitzError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("blitzbench: interrupted: finished results were kept; the run is marked "
              "incomplete", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`blitzbench fleet --format json | head`): stop quietly, and
        # point stdout at /dev/null so the interpreter's final flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
