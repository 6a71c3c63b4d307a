"""A made-up year (2027) of the assignment, its solution: another module layout, other names, another MLP."""
import torch
from torch import nn


class LayeredNet(nn.Module):
    """Given: a fully connected network storing what backpropagation needs (tanh or sigmoid)."""

    def __init__(self, widths=(4, 5, 3), activation="tanh"):
        super().__init__()
        self.L = len(widths) - 1
        self.z, self.a = {}, {}
        self.dL_dw = {l: None for l in range(1, self.L + 1)}
        self.dL_db = {l: None for l in range(1, self.L + 1)}
        if activation == "sigmoid":
            self.f = {l: torch.sigmoid for l in range(1, self.L + 1)}
            self.df = {l: (lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z))) for l in range(1, self.L + 1)}
        else:
            self.f = {l: torch.tanh for l in range(1, self.L + 1)}
            self.df = {l: (lambda z: 1 - torch.tanh(z) ** 2) for l in range(1, self.L + 1)}
        self.fc = nn.ModuleDict({str(l): nn.Linear(widths[l - 1], widths[l]) for l in range(1, self.L + 1)})

    def forward(self, x):
        self.a[0] = torch.flatten(x, 1)
        for l in range(1, self.L + 1):
            self.z[l] = self.fc[str(l)](self.a[l - 1])
            self.a[l] = self.f[l](self.z[l])
        return self.a[self.L]


def compute_gradients(net, target, output):
    """Store the gradients of the summed squared error in net.dL_dw and net.dL_db."""
    with torch.no_grad():
        error = 2 * (output - target) * net.df[net.L](net.z[net.L])
        for l in range(net.L, 0, -1):
            net.dL_dw[l] = error.T @ net.a[l - 1]
            net.dL_db[l] = error.sum(0)
            if l > 1:
                error = error @ net.fc[str(l)].weight * net.df[l - 1](net.z[l - 1])


net = LayeredNet([3, 4, 2])
