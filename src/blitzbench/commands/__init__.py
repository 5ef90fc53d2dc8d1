"""The ``blitzbench`` subcommands, one module each, at the top of the import graph.

Each module gives ``add_arguments(parser)`` and ``run(args) -> int``. Importing one loads
no torch: its heavy imports happen inside ``run``, so ``blitzbench --help``, ``report``,
``fleet`` and ``compare`` start in a fraction of a second.
"""
