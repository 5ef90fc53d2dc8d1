"""
Tensors, sphinx-gallery style
=============================

A script of blitzbench's own in the format PyTorch's tutorials use.
"""

import torch

torch.manual_seed(0)

# %%
# Deterministic values are compared exactly.

x = torch.ones(2, 2, requires_grad=True)
y = x + 2
print(y)

# Out:
#
#   tensor([[3., 3.],
#           [3., 3.]], grad_fn=<AddBackward0>)

z = (y * y * 3).mean()
z.backward()
print(x.grad)

# Out:
#   tensor([[4.5000, 4.5000],
#           [4.5000, 4.5000]])

######################################################################
# Random values are judged by their law: torch.rand draws from [0, 1).

r = torch.rand(3)
print(r)

# Out:
#   tensor([0.4963, 0.7682, 0.0885])

# %%
# A wrong expectation is reported, with the difference.

print(torch.zeros(2) + 1)

# Out:
#   tensor([2., 2.])
