"""What student code commonly does once, run by every worker before any student code: torch's lazy imports (the
first torch.optim step imports torch._dynamo, about 1.5 s of CPU) happen while the library is readable, and are
never charged to the student's time budget."""
from __future__ import annotations

import io

import torch


def warm_up() -> None:
    """Run what student code commonly does once, so torch's lazy imports happen while files are readable."""
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 0, 1, 1])
    _ = [repr(v) for v in (model, x, x.double(), model[1].weight, model[1].weight.grad, x.numpy(), x[0, 0])]
    _ = f"{x.mean():.3f} {x.tolist()} {model.state_dict()}"
    for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1),
                      torch.optim.Adam(model.parameters())):
        loss = torch.nn.functional.cross_entropy(model(x), y) + torch.nn.MSELoss(reduction="none")(x, x).sum()
        loss.backward()
        _ = repr(model[1].weight.grad)
        optimizer.step()
        optimizer.zero_grad()
    torch.autograd.grad(model(x).sum(), list(model.parameters()))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=2, shuffle=True)
    _ = [batch for batch in loader] + list(torch.utils.data.random_split(loader.dataset, [3, 2]))
    torch.einsum("ij,kj->ik", x, x).softmax(dim=1).argmax(dim=1).float().mean().item()
    torch.testing.assert_close(x, x.clone())
    with torch.no_grad(), torch.inference_mode():
        model.eval()(x)
    torch.nn.functional.one_hot(y, 2)
    torch.save(model.state_dict(), io.BytesIO())


def warm_up_cuda() -> None:
    """Initialise CUDA and load its lazily opened libraries (cuBLAS, ...) while they are still readable."""
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)).cuda()
    x, y = torch.randn(16, 64, device="cuda"), torch.randint(0, 2, (16,), device="cuda")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    for dtype in (torch.float32, torch.float64):
        model.to(dtype)
        loss = torch.nn.functional.cross_entropy(model(x.to(dtype)), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        (model(x.to(dtype)).argmax(dim=1) == y).float().mean().item()
    torch.cuda.synchronize()
