"""Grader-side data: both layouts, the decode cache, clear errors, splits and the device loader."""
from __future__ import annotations

import pytest
import torch

from grader.data import cifar as data
from grader.data.cifar import DataError, TensorLoader, detect_layout, load_arrays, split_indices
from grader.data.fixtures import official_checksums_skipped, write_fixture
from tests.support.grading import shared_data


@pytest.mark.parametrize("layout", ["imagefolder", "official"])
def test_both_layouts_decode_to_the_pixels_written(tmp_path, layout):
    fixture = write_fixture(tmp_path / "data", layout, seed=2)
    with official_checksums_skipped():
        arrays = load_arrays(fixture.root, cache_dir=tmp_path / "cache")
    keep = fixture.train_labels >= 0
    assert torch.equal(arrays.train_images, torch.from_numpy(fixture.train_images[keep]))
    assert arrays.train_labels.tolist() == fixture.train_labels[keep].tolist()
    assert arrays.test_images.shape == (10, 3, 32, 32) and arrays.test_images.dtype == torch.uint8


def test_decode_happens_once_then_comes_from_the_cache(tmp_path, monkeypatch):
    fixture = write_fixture(tmp_path / "data", "imagefolder", seed=2)
    first = load_arrays(fixture.root, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    monkeypatch.setattr(data, "_decode_image_folder", lambda root: pytest.fail("decoded again"))
    second = load_arrays(fixture.root, cache_dir=tmp_path / "cache")
    assert torch.equal(first.train_images, second.train_images)


def test_cache_key_changes_with_the_source(tmp_path):
    fixture = write_fixture(tmp_path / "data", "imagefolder", seed=2)
    before = data.source_checksum(fixture.root, "imagefolder")
    next((fixture.root / "train" / "bird").iterdir()).write_bytes(b"changed")
    assert data.source_checksum(fixture.root, "imagefolder") != before


def test_missing_and_malformed_data_explain_both_layouts(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        detect_layout(tmp_path / "nope")
    (tmp_path / "train" / "airplane").mkdir(parents=True)
    with pytest.raises(DataError, match="cifar-10-batches-py") as error:
        detect_layout(tmp_path)
    assert "--data-root" in str(error.value) and "ImageFolder" in str(error.value)


def test_split_is_seeded_and_disjoint():
    train, val = split_indices(100, 0.1, 265)
    again, _ = split_indices(100, 0.1, 265)
    assert len(val) == 10 and not set(train.tolist()) & set(val.tolist()) and torch.equal(train, again)


def test_tensor_loader_slices_in_order():
    x, y = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    loader = TensorLoader(x, y, 4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[0][0].data_ptr() == x.data_ptr()
    assert len(loader.dataset) == 10


@pytest.mark.data
def test_real_data_decodes_to_the_expected_sizes(tmp_path):
    arrays = load_arrays(shared_data(), cache_dir=tmp_path)
    assert arrays.train_images.shape == (10000, 3, 32, 32) and arrays.test_images.shape == (2000, 3, 32, 32)
    assert int(arrays.train_labels.sum()) == 5000 and int(arrays.test_labels.sum()) == 1000


def test_torchvision_reads_the_fixture_offline_and_never_downloads(tmp_path):
    """What load_cifar submissions do: CIFAR10(root, download=True) on the grader's fixture (no official md5)."""
    from torchvision.datasets import CIFAR10, utils

    from grader.data.fixtures import official_checksums_skipped, write_fixture

    fixture = write_fixture(tmp_path / "official", "official")
    with official_checksums_skipped():
        data = CIFAR10(str(fixture.root), train=True, download=True)
        with pytest.raises(RuntimeError, match="the grader has no network"):
            utils.download_url("https://example.invalid/cifar.tar.gz", str(tmp_path))
    assert len(data) == len(fixture.train_labels)
