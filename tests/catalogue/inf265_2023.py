"""Submissions to the course's 2023 template (assignment ``inf265-2023``), written the way its students hand them in:
two notebooks, patched from the reference notebooks in ``reference_inf265_2023/`` (next to this file). Each has what its code deserves
(``verdicts``: check -> "passed", "failed", or a score) and what the report must say (``notes``: fragments).

Shared by the tests (tests/assignment/test_declaration.py) and the class benchmark (benchmarks/class_2023.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

REFERENCE_2023 = Path(__file__).with_name("reference_inf265_2023")
ASSIGNMENT = "inf265-2023"
BP, GD = "backpropagation", "gradient_descent"
CPU_CHECKS = ("interface", "signatures", "backpropagation_one_sample", "rules", "train", "train_manual_update",
              "MyMLP", "load_cifar")
ALL_PASS = {check: "passed" for check in CPU_CHECKS}


@dataclass(frozen=True)
class Notebooks:
    """A 2023-style submission: the reference notebooks with ``patches`` (module, old, new: ``old`` once in that
    notebook), ``cells`` appended to a notebook, and the files named as the student named them."""

    name: str
    patches: tuple = ()
    cells: dict = field(default_factory=dict)
    file_names: dict = field(default_factory=dict)
    """module -> the file name the student used (e.g. "gradientDescent.ipynb")."""
    extra_files: dict = field(default_factory=dict)
    verdicts: dict = field(default_factory=lambda: dict(ALL_PASS))
    notes: tuple = ()
    as_py: tuple = ()
    """Modules handed in as a .py file: the notebook's code cells, top to bottom (what "Download as .py" gives)."""

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for module in (BP, GD):
            notebook = nbformat.read(str(REFERENCE_2023 / f"{module}.ipynb"), as_version=4)
            for patched_module, old, new in self.patches:
                if patched_module == module:
                    _patch(notebook, old, new)
            notebook.cells += [nbformat.v4.new_code_cell(source) for source in self.cells.get(module, ())]
            if module in self.as_py:
                code = "\n\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
                (folder / self.file_names.get(module, f"{module}.py")).write_text(code + "\n", encoding="utf-8")
                continue
            name = self.file_names.get(module, f"{module}.ipynb")
            (folder / name).write_text(nbformat.writes(notebook), encoding="utf-8")
        for name, text in self.extra_files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder


def _patch(notebook, old: str, new: str) -> None:
    holding = [cell for cell in notebook.cells if cell.cell_type == "code" and old in cell.source]
    assert len(holding) == 1 and holding[0].source.count(old) == 1, f"patch target not found exactly once: {old!r}"
    holding[0].source = holding[0].source.replace(old, new)


MANUAL_SIGNATURE = "def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=1e-2, momentum_coeff=0., " \
                   "weight_decay=0.):"
TRAIN_SIGNATURE = "def train(n_epochs, optimizer, model, loss_fn, train_loader):"
MOMENTUM_BLOCK = '''                    if momentum_coeff:
                        if name in velocity:
                            step = momentum_coeff * velocity[name] + step
                        velocity[name] = step
'''

CLASS = [
    Notebooks("reference", notes=()),
    Notebooks("renamed parameters", (
        (GD, MANUAL_SIGNATURE, "def train_manual_update(epoch_count, model, loss_function, train_loader, "
                               "learning_rate=1e-2, momentum=0., weight_decay=0.):"),
        (GD, "    for epoch in range(1, n_epochs + 1):\n        loss_train = 0.0\n        for imgs, labels in "
             "train_loader:\n            imgs = imgs.to(device=device, dtype=torch.double)\n            labels = "
             "labels.to(device=device)\n            loss = loss_fn(model(imgs), labels)\n            loss.backward()\n"
             "            with torch.no_grad():",
         "    for epoch in range(1, epoch_count + 1):\n        loss_train = 0.0\n        for imgs, labels in "
         "train_loader:\n            imgs = imgs.to(device=device, dtype=torch.double)\n            labels = "
         "labels.to(device=device)\n            loss = loss_function(model(imgs), labels)\n            "
         "loss.backward()\n            with torch.no_grad():"),
        (GD, "                    if momentum_coeff:\n                        if name in velocity:\n"
             "                            step = momentum_coeff * velocity[name] + step",
         "                    if momentum:\n                        if name in velocity:\n"
         "                            step = momentum * velocity[name] + step"),
        (GD, "                    p -= lr * step", "                    p -= learning_rate * step"),
    ), verdicts={**ALL_PASS, "signatures": "failed"},
        notes=("train_manual_update(epoch_count, model, loss_function, train_loader, learning_rate=0.01, "
               "momentum=0.0, weight_decay=0.0) differs from the template: epoch_count as n_epochs",)),
    Notebooks("reordered parameters", (
        (GD, MANUAL_SIGNATURE, "def train_manual_update(lr, weight_decay, momentum_coeff, n_epochs, model, loss_fn, "
                               "train_loader):"),
    ), verdicts={**ALL_PASS, "signatures": "failed"}, notes=("same parameters, in another order",)),
    Notebooks("extra parameters with defaults", (
        (GD, TRAIN_SIGNATURE, "def train(n_epochs, optimizer, model, loss_fn, train_loader, val_loader=None, "
                              "verbose=False, GPU_utilize=True):"),
        (GD, MANUAL_SIGNATURE, "def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=1e-2, "
                               "momentum_coeff=0., weight_decay=0., return_loss=True, val_loader=None):"),
    ), verdicts={**ALL_PASS, "signatures": "failed"},
        notes=("verbose, GPU_utilize kept their default",)),
    Notebooks("no momentum parameter", (
        (GD, MANUAL_SIGNATURE, "def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=1e-2, "
                               "weight_decay=0.):"),
        (GD, MOMENTUM_BLOCK, ""),
    ), verdicts={**ALL_PASS, "signatures": "failed", "train_manual_update": 14.0},
        notes=("no parameter for momentum_coeff",)),
    Notebooks("defaults read top-level names", (
        (GD, "def load_cifar(train_val_split=0.9, data_path='../data/', preprocessor=None):\n"
             "    if preprocessor is None:",
         "normalizer = transforms.Compose([transforms.ToTensor(), transforms.Normalize(CIFAR_MEAN, cifar_std)])\n"
         "\n\ndef load_cifar(train_val_split=0.9, data_path=DATA_PATH, preprocessor=normalizer):\n"
         "    if preprocessor is None:"),
        (GD, "    label_map = {0: 0, 2: 1}\n", "    label_map = cifar10_labels\n"),
        (GD, TRAIN_SIGNATURE, "def train(n_epochs, optimizer, model, train_loader, loss_fn=loss_fn):"),
        (GD, "torch.manual_seed(123)\ntorch.set_default_dtype(torch.double)",
         "torch.manual_seed(123)\ntorch.set_default_dtype(torch.double)\nDATA_PATH = '../data/'\n"
         "CIFAR_MEAN = (0.4915, 0.4823, 0.4468)\ncifar_std = (0.2470, 0.2435, 0.2616)\n"
         "cifar10_labels = {0: 0, 2: 1}\nloss_fn = nn.CrossEntropyLoss()\nprint('setup done')"),
    ), verdicts={**ALL_PASS, "signatures": "failed"}),
    Notebooks("a default that needs the data", (
        (GD, "def compute_accuracy(model, loader):", "def compute_accuracy(model, loader=val_loader):"),
    ), verdicts={**ALL_PASS, "signatures": "failed"},
        notes=("code cell 6: `val_loader = torch.utils.data.DataLoader(data_val, batch_size=batch_size",
               "was not run although your definitions use val_loader (it needs data_val, which was not run either)")),
    Notebooks("class renamed", (
        (GD, "class MyNet(nn.Module):\n    def __init__(self):", "class CifarMLP(nn.Module):\n    def __init__(self):"),
    ), verdicts={**ALL_PASS, "signatures": "failed"},
        notes=("CifarMLP was graded as the template's MyNet: the only nn.Module subclass",)),
    Notebooks("misnamed files", file_names={GD: "gradientDescent.ipynb", BP: "Copy of backpropagation.ipynb"},
              notes=("gradientDescent.ipynb was graded as gradient_descent.ipynb",
                     "Copy of backpropagation.ipynb was graded as backpropagation.ipynb")),
    Notebooks("misspelled file with a suffix", file_names={GD: "gradient_decent_complete.ipynb"},
              notes=("gradient_decent_complete.ipynb was graded as gradient_descent.ipynb",)),
    Notebooks("two candidate files", file_names={GD: "gradient_descent_2.ipynb"},
              extra_files={"gradient_descent_final.ipynb": nbformat.writes(nbformat.v4.new_notebook())},
              verdicts={"interface": "failed", "backpropagation_one_sample": "passed", "train": "failed",
                        "MyMLP": "failed"},
              notes=("Several files could be gradient_descent.py / gradient_descent.ipynb: gradient_descent_2.ipynb, "
                     "gradient_descent_final.ipynb",)),
    Notebooks("momentum buffer reset every epoch", (
        (GD, "        loss_train = 0.0\n        for imgs, labels in train_loader:\n            imgs = imgs.to("
             "device=device, dtype=torch.double)\n            labels = labels.to(device=device)\n            loss = "
             "loss_fn(model(imgs), labels)\n            loss.backward()\n            with",
         "        loss_train = 0.0\n        velocity = {}\n        for imgs, labels in train_loader:\n            "
         "imgs = imgs.to(device=device, dtype=torch.double)\n            labels = labels.to(device=device)\n"
         "            loss = loss_fn(model(imgs), labels)\n            loss.backward()\n            with"),
    ), verdicts={**ALL_PASS, "train_manual_update": "failed"}),
    Notebooks("train returns the last batch loss", (
        (GD, "        losses_train.append(loss_train / n_batch)\n        if epoch == 1 or epoch % 5 == 0:\n"
             "            print(f'{datetime.now().time()} | Epoch {epoch} | Training loss {loss_train / n_batch:.5f}')"
             "\n    return losses_train\n\n\ndef compute_accuracy",
         "        losses_train.append(loss.item())\n    return losses_train\n\n\ndef compute_accuracy"),
    ), verdicts={**ALL_PASS, "train": 11.25}),
    Notebooks("a required extra parameter", (
        (GD, TRAIN_SIGNATURE, "def train(n_epochs, optimizer, model, loss_fn, train_loader, scheduler):"),
    ), verdicts={**ALL_PASS, "signatures": "failed", "interface": "failed", "train": "failed"},
        notes=("required scheduler has no value the grader can give",)),
    Notebooks("a missing ReLU", (
        (GD, "        out = F.relu(self.fc2(out))\n", "        out = self.fc2(out)\n"),
    ), verdicts={**ALL_PASS, "MyMLP": "failed"}),
    Notebooks("backpropagation for one sample, by rows", (
        (BP, "            model.dL_dw[l] = delta.t() @ model.a[l - 1]\n            model.dL_db[l] = delta.sum(0)",
         "            model.dL_dw[l] = delta.view(-1, 1) * model.a[l - 1]\n            model.dL_db[l] = delta[0]"),
    )),
]


def manual_update(returns: str = "losses_train", signature: str = MANUAL_SIGNATURE, per_batch: bool = False,
                  validation: str = "") -> str:
    """A student's own train_manual_update (a later cell: it replaces the template's): the right update, handing
    back ``returns``; ``per_batch`` records one loss per batch; ``validation`` computes val_losses from it."""
    record = "losses_train.append(loss.item())" if per_batch else "loss_train += loss.item()"
    epoch_end = "" if per_batch else "        losses_train.append(loss_train / n_batch)\n"
    val = (f"        if {validation} is not None:\n            with torch.no_grad():\n"
           f"                val_losses.append(sum(loss_fn(model(x), y).item() for x, y in {validation}) / "
           f"len({validation}))\n") if validation else ""
    return f'''{signature}
    model.train()
    n_batch = len(train_loader)
    losses_train, val_losses = [], []
    velocity = {{}}
    for epoch in range(1, n_epochs + 1):
        loss_train = 0.0
        for imgs, labels in train_loader:
            imgs = imgs.to(device=device, dtype=torch.double)
            labels = labels.to(device=device)
            loss = loss_fn(model(imgs), labels)
            loss.backward()
            with torch.no_grad():
                for name, p in model.named_parameters():
                    step = p.grad + weight_decay * p
                    if momentum_coeff:
                        if name in velocity:
                            step = momentum_coeff * velocity[name] + step
                        velocity[name] = step
                    p -= lr * step
                    p.grad = None
            {record}
{epoch_end}{val}    {"return " + returns if returns else "pass"}
'''


TRAIN_WITH_VALIDATION = '''
mean, std = data_train_tensor.mean(dim=(0, 2, 3)), data_train_tensor.std(dim=(0, 2, 3))
normalizer = transforms.Normalize(mean, std)


def train(n_epochs, optimizer, model, loss_fn, train_loader, val_loader, device=None, preprocessor=normalizer):
    device = device or torch.device("cpu")
    losses_train, losses_val = [], []
    for epoch in range(n_epochs):
        model.train()
        total = 0.0
        for imgs, labels in train_loader:
            imgs, labels = preprocessor(imgs.to(device)), labels.to(device)
            loss = loss_fn(model(imgs), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        losses_train.append(total / len(train_loader))
        model.eval()
        with torch.no_grad():
            losses_val.append(sum(loss_fn(model(preprocessor(x)), y).item() for x, y in val_loader) / len(val_loader))
    return losses_train, losses_val
'''
ONE_HOT_TRAIN = ("            loss = loss_fn(model(imgs), labels)\n            loss.backward()\n            optimizer.step()",
                 "            targets = F.one_hot(labels, num_classes=2).to(torch.double)\n"
                 "            loss = loss_fn(model(imgs), targets)\n            loss.backward()\n            optimizer.step()")
SQUEEZED_BIAS = ("            model.dL_db[l] = delta.sum(0)", "            model.dL_db[l] = delta.sum(0).squeeze()")
SCRATCH_CELLS = ("0.9 * 50000 = 45000  # how many training images?",
                 "def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=1e-2, momentum_coeff=0., "
                 "weight_decay=0.):\n    #TODO")
MANUAL_SHARE = {"none": 15.0, "per batch": 17.5}
"""train_manual_update's points (of 20) when its parameters are right and it returns no losses (75%), or one loss
per batch (75% + half of the 25% for the history)."""

CLASS += [
    Notebooks("manual update returns None", cells={GD: (manual_update(returns=""),)},
              verdicts={**ALL_PASS, "train_manual_update": MANUAL_SHARE["none"]}),
    Notebooks("manual update returns (model, losses)", cells={GD: (manual_update(returns="model, losses_train"),)}),
    Notebooks("manual update returns (train, val) losses", cells={GD: (manual_update(
        returns="losses_train, val_losses", validation="val_loader", signature=MANUAL_SIGNATURE.replace(
            "weight_decay=0.):", "weight_decay=0., val_loader=None):")),)},
        verdicts={**ALL_PASS, "signatures": "failed"}),
    Notebooks("manual update returns a dict", cells={GD: (manual_update(
        returns="{'train_loss': losses_train, 'val_loss': val_losses}"),)}),
    Notebooks("manual update returns one loss per batch", cells={GD: (manual_update(per_batch=True),)},
              verdicts={**ALL_PASS, "train_manual_update": MANUAL_SHARE["per batch"]}),
    Notebooks("required val_loader and a data-derived preprocessor", (
        (GD, "data_train, data_val, data_test = load_cifar()",
         "data_train, data_val, data_test = load_cifar()\n"
         "data_train_tensor = torch.stack([img for img, _ in data_train])"),
    ), cells={GD: (TRAIN_WITH_VALIDATION,)}, verdicts={**ALL_PASS, "signatures": "failed"},
        notes=("val_loader was given the grader's validation loader", "preprocessor was given an identity function")),
    Notebooks("scratch cell and a #TODO stub cell", cells={GD: SCRATCH_CELLS},
              notes=("was left out: it is not valid Python (line 1: cannot assign to expression",
                     "was left out: it is not valid Python (line 2: expected an indented block")),
    Notebooks("one-hot two-class targets", ((GD, *ONE_HOT_TRAIN),)),
    Notebooks("bias gradient squeezed at width 1", ((BP, *SQUEEZED_BIAS),),
              verdicts={**ALL_PASS, "backpropagation_one_sample": 35 * 0.8}),
]
BACKPROP_AS_METHOD = (
    (BP, "        return self.a[self.L]",
     "        return self.a[self.L]\n\n    def backpropagation(self, y_true, y_pred):\n        with torch.no_grad():\n"
     "            delta = 2 * (y_pred - y_true) * self.df[self.L](self.z[self.L])\n"
     "            for l in range(self.L, 0, -1):\n                self.dL_dw[l] = delta.t() @ self.a[l - 1]\n"
     "                self.dL_db[l] = delta.sum(0)\n                if l > 1:\n"
     "                    delta = delta @ self.fc[str(l)].weight * self.df[l - 1](self.z[l - 1])"),
    (BP, "def backpropagation(model, y_true, y_pred):", "def my_old_attempt(model, y_true, y_pred):"),
    (BP, "main_test(backpropagation, model", "main_test(model.backpropagation, model"),
)
STUB_MANUAL_UPDATE = ("def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=1e-2, momentum_coeff=0., "
                      "weight_decay=0.):\n    losses_train = []\n    #TODO\n    return losses_train\n")
SOME_STEPS_TWICE = ("                    p -= lr * step\n",
                    "                    p -= lr * step\n                    if epoch == 1 and loss_train == 0.0:\n"
                    "                        p -= lr * step\n")
MOMENTUM_SIGN_FLIPPED = ("                            step = momentum_coeff * velocity[name] + step",
                         "                            step = momentum_coeff * velocity[name] - step")

CLASS += [
    Notebooks("a .py upload importing the course's helper", as_py=(BP,),
              notes=("tests_backpropagation (the course's helper) is not run when grading: main_test imported from it "
                     "is a stand-in that does nothing",)),
    Notebooks("backpropagation written as a method of MyNet", BACKPROP_AS_METHOD,
              verdicts={**ALL_PASS, "signatures": "failed"},
              notes=("MyNet.backpropagation was graded as the template's backpropagation: it is defined in class "
                     "MyNet",)),
    Notebooks("a stubbed manual update beside a right backpropagation", cells={GD: (STUB_MANUAL_UPDATE,)},
              verdicts={**ALL_PASS, "train_manual_update": "failed", "rules": 5 * 2 / 3}),
    Notebooks("the update applied twice on the first step", ((GD, *SOME_STEPS_TWICE),),
              verdicts={**ALL_PASS, "train_manual_update": "failed"}),
    Notebooks("the momentum's sign flipped", ((GD, *MOMENTUM_SIGN_FLIPPED),),
              verdicts={**ALL_PASS, "train_manual_update": "failed"}),
]
BY_NAME = {submission.name: submission for submission in CLASS}
