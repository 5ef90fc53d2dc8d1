"""The distributed side: a job of several ranks launched by torchrun (or Slurm through it).

``world`` says who this process is (rank, local rank, device, backend) from torchrun's
environment and opens the process group; ``local`` starts a small world on this machine
through torchrun itself (tests, ``pytest benchmarks -k collectives``). Families that need a
world (collectives, DDP LeNet) live beside them.
"""
