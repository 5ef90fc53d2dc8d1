"""The shims: what a release (or running headless and offline) made a tutorial's code need,
each with the release that made it necessary and where that is written down.

A block is first run as written; a shim is applied only when the block fails with the
error the shim is for (``fixes``) and its code holds what the shim rewrites (``finds``).
A ``rewrite`` shim edits the block's source (a regular expression); a ``prelude`` shim runs
code in the worker before the block (the data shim swaps torchvision's CIFAR10 for one
reading the local data set, whatever ``root`` and ``download`` the block passes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SHIMS", "Shim", "applicable_shim", "shim_named"]


@dataclass(frozen=True)
class Shim:
    name: str  # what it rewrites, as the verdict names it
    finds: str  # regex over the block's code: the shim is relevant to this block
    fixes: str  # regex over the error line: the failure it is for
    release: str  # the release that made it necessary
    source: str  # where that is written down
    replace: str = ""  # rewrite shims: re.sub(finds, replace, code)
    prelude: str = ""  # prelude shims: code run in the worker first ({kind}, {root})

    def applies(self, code: str, error: str) -> bool:
        return bool(re.search(self.finds, code) and re.search(self.fixes, error))

    def rewrite(self, code: str) -> str:
        return re.sub(self.finds, self.replace, code) if self.replace else code


SHIMS: tuple[Shim, ...] = (
    Shim(name="dataiter.next() -> next(dataiter)",
         finds=r"\b([A-Za-z_][\w.]*(?:\(\))?)\.next\(\)", replace=r"next(\1)",
         fixes=r"AttributeError: .*object has no attribute 'next'",
         release="torch 1.13 (Oct 2022): DataLoader iterators lost their Python 2 `.next` "
                 "alias",
         source="https://github.com/pytorch/pytorch/pull/78594 (the `next = __next__` "
                "compat assignment removed); pytorch/tutorials#2087 updated the tutorials"),
    Shim(name="y.creator -> y.grad_fn",
         finds=r"\.creator\b", replace=".grad_fn",
         fixes=r"AttributeError: .*has no attribute 'creator'",
         release="torch 0.2.0 (Aug 2017): Variable.creator renamed grad_fn",
         source="https://github.com/pytorch/pytorch/releases/tag/v0.2.0 (autograd: "
                "`.creator` is now `.grad_fn`)"),
    Shim(name="download=True -> local data",
         finds=r"\bdownload\s*=\s*True\b",
         fixes=r"network disabled|[Dd]ataset not found|not found or corrupted|urlopen",
         prelude="from blitzbench.tutorial.local_data import redirect_cifar10\n"
                 "redirect_cifar10({kind!r}, {root!r})\n",
         release="none: blitzbench runs a tutorial offline, on the synthetic (or "
                 "--data-root) CIFAR-10, never downloading",
         source="blitzbench issue 14; torchvision.datasets.CIFAR10 (download=False reads "
                "cifar-10-batches-py/ under root)"),
    Shim(name="IPython magic -> skipped",
         finds=r"(?m)^[ \t]*[%!].*$", replace="pass  # an IPython magic or shell line",
         fixes=r"SyntaxError",
         release="none: notebook cells run as plain Python, without IPython's `%` magics "
                 "and `!` shell lines",
         source="https://ipython.readthedocs.io/en/stable/interactive/magics.html"),
    Shim(name="plt.show() -> no display",
         finds=r"\bplt\.show\(\s*\)", replace="plt.close('all')",
         fixes=r"show|display|DISPLAY|backend|TclError",
         release="none: blocks run headless on matplotlib's Agg backend, where show() "
                 "cannot open a window",
         source="https://matplotlib.org/stable/users/explain/figure/backends.html "
                "(non-interactive backends)"),
)


def shim_named(name: str) -> Shim:
    return next(s for s in SHIMS if s.name == name)


def applicable_shim(code: str, error: str, used: tuple[str, ...]) -> Shim | None:
    """The first shim not yet used that is for this failure of this code, or None."""
    return next((s for s in SHIMS if s.name not in used and s.applies(code, error)), None)
