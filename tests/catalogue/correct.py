"""Correct solutions written differently from the reference: each must get full marks, accuracy stage included.

``TRAINS_DIFFERENTLY`` names the ones whose training arithmetic differs from the reference's (another
initialisation order, another rounding of the update, float64), and in which function: their trajectories part
from the reference's, so they sample the run-to-run spread that the accuracy thresholds are calibrated on.
"""
from __future__ import annotations

from . import Submission

MANUAL_FIT_RETURN = "    return _fit(n_epochs, model, loss_fn, train_loader, val_loader, device, step)\n\n\ndef _fit"

EINSUM_LOOPS = '''
def backpropagation(model, y_true, y_pred):
    """Per-sample loops and einsum instead of matrix products."""
    with torch.no_grad():
        for n in range(y_pred.shape[0]):
            delta = 2 * (y_pred[n] - y_true[n]) * model.df[model.L](model.z[model.L][n])
            for l in range(model.L, 0, -1):
                w_grad = torch.einsum("i,j->ij", delta, model.a[l - 1][n])
                model.dL_dw[l] = w_grad if n == 0 else model.dL_dw[l] + w_grad
                model.dL_db[l] = delta.clone() if n == 0 else model.dL_db[l] + delta
                if l > 1:
                    delta = torch.einsum("i,ij->j", delta, model.fc[str(l)].weight) * model.df[l - 1](model.z[l - 1][n])
'''

ZERO_BUFFER = '''
def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum=0.0, weight_decay=0.0,
                        val_loader=None, device=None):
    """Momentum buffers start at zero; loops written out by hand."""
    device = device if device is not None else next(model.parameters()).device
    buffers = [torch.zeros_like(p) for p in model.parameters()]
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(n_epochs):
        total, batches, correct, seen = 0.0, 0, 0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            model.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            with torch.no_grad():
                for p, buf in zip(model.parameters(), buffers):
                    g = p.grad + weight_decay * p
                    buf.mul_(momentum).add_(g)
                    p -= lr * buf
            total += loss.item()
            batches += 1
            correct += (out.argmax(1) == y).sum().item()
            seen += len(y)
        history["train_loss"].append(total / batches)
        history["train_acc"].append(correct / seen)
        if val_loader is not None:
            history["val_loss"].append(0.0)
            history["val_acc"].append(compute_accuracy(model, val_loader, device))
    return history
'''

CHATTY = '''
_quiet_backpropagation = backpropagation
def backpropagation(model, y_true, y_pred):
    print("backpropagation called with", y_pred.shape, "and the whole model:", model)
    for l in range(1, model.L + 1):
        print("layer", l, model.fc[str(l)].weight)
    _quiet_backpropagation(model, y_true, y_pred)
    print("done; gradients:", model.dL_dw)
'''

TRANSFORMS_LOADER = '''
def load_cifar(data_root, val_fraction=0.1, seed=265, download=False):
    """torchvision datasets and transforms, normalised with the published CIFAR-10 constants."""
    import os
    from torchvision import datasets, transforms
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))])
    if os.path.isdir(os.path.join(data_root, "cifar-10-batches-py")):
        splits = [datasets.CIFAR10(data_root, train=t, download=download, transform=transform) for t in (True, False)]
        keep = {0: 0, 2: 1}
        target = lambda label: keep[label]
    else:
        splits = [datasets.ImageFolder(os.path.join(data_root, s), transform=transform) for s in ("train", "test")]
        names = splits[0].classes
        keep = {names.index("airplane"): 0, names.index("bird"): 1}
        target = lambda label: keep[label]
    subsets = []
    for data in splits:
        labels = data.targets
        indices = [i for i, label in enumerate(labels) if label in keep]
        data.target_transform = target
        subsets.append(torch.utils.data.Subset(data, indices))
    train_all, test = subsets
    n_val = int(round(val_fraction * len(train_all)))
    generator = torch.Generator().manual_seed(seed)
    train, val = torch.utils.data.random_split(train_all, [len(train_all) - n_val, n_val], generator=generator)
    return train, val, test
'''

REVERSED_LAYERS_FUNCTIONAL_UPDATE = '''
class MyMLP(nn.Module):
    """Layers created from the output back (another initialisation order), ReLUs written in forward."""

    def __init__(self):
        super().__init__()
        self.out = nn.Linear(32, 2)
        self.hidden3 = nn.Linear(128, 32)
        self.hidden2 = nn.Linear(512, 128)
        self.hidden1 = nn.Linear(3072, 512)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        x = torch.relu(self.hidden1(x))
        x = torch.relu(self.hidden2(x))
        x = torch.relu(self.hidden3(x))
        return self.out(x)


def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum=0.0, weight_decay=0.0,
                        val_loader=None, device=None):
    """A velocity per parameter name; every step builds new tensors (p <- p - lr * v)."""
    device = device if device is not None else next(model.parameters()).device
    velocity = {}
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(n_epochs):
        model.train()
        losses, correct, seen = [], 0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            for p in model.parameters():
                p.grad = None
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            with torch.no_grad():
                for name, p in model.named_parameters():
                    g = p.grad + weight_decay * p
                    if momentum != 0:
                        g = g if name not in velocity else momentum * velocity[name] + g
                        velocity[name] = g
                    p.copy_(p - lr * g)
            losses.append(loss.item())
            correct += int((out.argmax(dim=1) == y).sum())
            seen += y.numel()
        history["train_loss"].append(sum(losses) / len(losses))
        history["train_acc"].append(correct / seen)
        if val_loader is not None:
            model.eval()
            with torch.no_grad():
                pairs = [(loss_fn(model(x.to(device)), y.to(device)).item(),
                          int((model(x.to(device)).argmax(dim=1) == y.to(device)).sum()), len(y))
                         for x, y in val_loader]
            history["val_loss"].append(sum(p[0] for p in pairs) / len(pairs))
            history["val_acc"].append(sum(p[1] for p in pairs) / sum(p[2] for p in pairs))
    return history
'''

SUBTRACTED_STEP = '''
def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum=0.0, weight_decay=0.0,
                        val_loader=None, device=None):
    """torch.optim.SGD's algorithm, but the step is p.sub_(lr * d_p): it rounds differently from add_(alpha=-lr)."""
    buffers = [None] * len(list(model.parameters()))

    def step():
        with torch.no_grad():
            for i, p in enumerate(model.parameters()):
                d_p = p.grad
                if weight_decay != 0:
                    d_p = d_p.add(p, alpha=weight_decay)
                if momentum != 0:
                    if buffers[i] is None:
                        buffers[i] = torch.clone(d_p).detach()
                    else:
                        buffers[i].mul_(momentum).add_(d_p)
                    d_p = buffers[i]
                p.sub_(lr * d_p)
        model.zero_grad()

    return _fit(n_epochs, model, loss_fn, train_loader, val_loader, device, step)
'''

FLOAT64 = (("gradient_descent", "from torch import nn\n", "from torch import nn\n\ntorch.set_default_dtype(torch.float64)\n"),
           ("backpropagation", "import torch\n", "import torch\n\ntorch.set_default_dtype(torch.float64)\n"))

CORRECT = (
    Submission("einsum and per-sample loops", append={"backpropagation": EINSUM_LOOPS}),
    Submission("global float64 default dtype at import", patches=FLOAT64),
    Submission("momentum buffer initialised with zeros", append={"gradient_descent": ZERO_BUFFER}),
    Submission("lots of printing", append={"backpropagation": CHATTY}),
    Submission("torchvision transforms with published constants", append={"gradient_descent": TRANSFORMS_LOADER}),
    Submission("layers created last to first, functional update",
               append={"gradient_descent": REVERSED_LAYERS_FUNCTIONAL_UPDATE}),
    Submission("update subtracted as p.sub_(lr * d_p)", append={"gradient_descent": SUBTRACTED_STEP}),
    Submission("one-hot two-class targets", patches=(("gradient_descent", "            loss = loss_fn(output, y)\n",
                                                      "            loss = loss_fn(output, torch.nn.functional.one_hot("
                                                      "y, 2).to(output.dtype))\n"),)),
    Submission("manual update returns (model, history)", patches=(("gradient_descent", MANUAL_FIT_RETURN,
                                                                   MANUAL_FIT_RETURN.replace("return _fit",
                                                                                             "return model, _fit")),)),
    Submission("train requires its val_loader", patches=(("gradient_descent", "def train(n_epochs, optimizer, model, "
                                                          "loss_fn, train_loader, val_loader=None, device=None)",
                                                          "def train(n_epochs, optimizer, model, loss_fn, train_loader, "
                                                          "val_loader, device=None)"),)),
)
TRAINS_DIFFERENTLY = {
    "global float64 default dtype at import": ("train",),
    "momentum buffer initialised with zeros": ("train_manual_update",),
    "layers created last to first, functional update": ("train", "train_manual_update"),
    "update subtracted as p.sub_(lr * d_p)": ("train_manual_update",),
    "one-hot two-class targets": ("train", "train_manual_update"),
}
"""The functions whose training arithmetic differs from the reference's, per submission (the others run the
reference's own code: bit-identical on a CPU, as the reference's train and train_manual_update are)."""
BY_NAME = {submission.name: submission for submission in CORRECT}
