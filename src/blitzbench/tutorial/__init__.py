"""A tutorial's own code as a test: read its code blocks (Markdown post, sphinx-gallery
.py, Jupyter .ipynb), run them in order in one namespace in a worker process per device,
shim what a named release broke only when a block fails, and compare what each block prints
with what the tutorial shows, knowing that tensor values may be random.

- :mod:`~blitzbench.tutorial.sources`: the :class:`Block` record and the format dispatch;
- :mod:`~blitzbench.tutorial.markdown`, :mod:`~.gallery`, :mod:`~.notebook`: the parsers;
- :mod:`~blitzbench.tutorial.worker`: the child process that execs the blocks;
- :mod:`~blitzbench.tutorial.execute`: the parent side (time limits, crashes, replays);
- :mod:`~blitzbench.tutorial.shims`: the registry of rewrites a release made necessary;
- :mod:`~blitzbench.tutorial.tensors` and :mod:`~.outputs`: printed tensors and matching;
- :mod:`~blitzbench.tutorial.render`: tables for the terminal and Markdown.

Nothing here imports torch at module level; the worker and the data shim do, in the child.
"""
