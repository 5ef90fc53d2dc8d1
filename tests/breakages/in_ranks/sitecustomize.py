"""Applies the rank breakage that breakages/ddp.py exported, as this interpreter starts
(Python imports ``sitecustomize`` from its path at start-up). This folder is on
``PYTHONPATH`` only while such a breakage is applied."""

from breakages.ddp import apply_exported_patch

apply_exported_patch()
