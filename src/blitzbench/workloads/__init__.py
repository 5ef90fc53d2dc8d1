"""The workloads the tutorial runs: tensor ops, CIFAR-10 loading, LeNet."""
