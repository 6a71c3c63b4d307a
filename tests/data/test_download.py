"""--download on a student's laptop: CIFAR-10 fetched once with torchvision into the user's cache, then found by
every later run. Tested offline: torchvision downloads a small archive the test builds (same layout, its own md5s)
from a server on localhost."""
from __future__ import annotations

import functools
import hashlib
import http.server
import tarfile
import threading

import pytest
from torchvision.datasets import CIFAR10

from grader.data import cifar as data
from grader.data import locations
from grader.data.fixtures import write_fixture
from grader.options import GradingOptions
from grader.selection import data_folder


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def served(tmp_path):
    """A web server on localhost serving ``tmp_path/served``."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def fake_cifar(tmp_path, served, monkeypatch):
    """CIFAR10's download pointed at an archive of the grader's fixture on localhost (no network involved)."""
    fixture = write_fixture(tmp_path / "source", "official")
    batches = fixture.root / "cifar-10-batches-py"
    folder, address = served
    archive = folder / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(batches, arcname="cifar-10-batches-py")
    monkeypatch.setattr(CIFAR10, "url", f"{address}/{archive.name}")
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(archive))
    train = [[f"data_batch_{k}", md5(batches / f"data_batch_{k}")] for k in range(1, 6)]
    monkeypatch.setattr(CIFAR10, "train_list", train)
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5(batches / "test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5(batches / "batches.meta")})
    monkeypatch.setenv(locations.ENV_CACHE, str(tmp_path / "user-cache"))
    monkeypatch.delenv(locations.ENV_DATA_ROOT, raising=False)
    return fixture


def test_download_fetches_once_into_the_user_cache_and_later_runs_find_it(fake_cifar, tmp_path):
    assert data_folder(GradingOptions()) is None, "nothing downloaded yet: no data, the accuracy stage is skipped"
    root = data_folder(GradingOptions(download=True))
    assert root == tmp_path / "user-cache" / "cifar-10" and (root / "cifar-10-batches-py" / "test_batch").is_file()
    assert data_folder(GradingOptions()) == root, "found without --download afterwards"
    arrays = data.load_arrays(root)
    assert len(arrays.train_labels) == int((fake_cifar.train_labels >= 0).sum())
    assert list((tmp_path / "user-cache").glob("cifar2-official-*.npz")), "the two classes decoded once, cached"


def test_the_cache_folder_follows_the_platform(monkeypatch):
    monkeypatch.delenv(locations.ENV_CACHE, raising=False)
    import platformdirs

    expected = platformdirs.user_cache_dir("autograde", appauthor=False)
    assert locations.user_cache() == __import__("pathlib").Path(expected)
