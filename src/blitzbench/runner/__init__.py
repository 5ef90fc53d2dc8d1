"""The runner: how every run of blitzbench starts, goes step by step, and ends.

``accept``, ``claims``, ``profile``, ``ab`` and every rank of a torchrun job start a run the
same way (session.py: ``--device`` checked once against the machine, the data set resolved
and validated, the run folder and its recorder, Ctrl-C), plan it (plan.py: the cases of a
level, the metric names a spec may use, what the run sets out to produce), do its steps
(steps.py: claims, the tutorial's own blocks, benchmarks, profile; progress.py), and under
torchrun take part in a job (job.py, job_facts.py). The judging of what a run measured is
``acceptance/``'s, which runs nothing and imports no torch.
"""
