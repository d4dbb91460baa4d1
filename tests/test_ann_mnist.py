"""ann_core.datasets.load_mnist: the IDX parser on files made here, and the download path against
a small HTTP server on 127.0.0.1 (never the network)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from ann_core import datasets as D

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(a: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file by the format's definition, written independently of ann_core's reader."""
    big = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape)
    return header + np.ascontiguousarray(a, dtype=big).tobytes()


def tiny_mnist(seed: int = 0, n_train: int = 7, n_test: int = 3, side: int = 4):
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write(directory: Path, arrays: dict, gz=True) -> dict[str, Path]:
    """Write each array as an IDX file, gzipped (name.gz) or raw; ``gz`` may be a set of names to gzip."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, a in arrays.items():
        data = idx_bytes(a) if isinstance(a, np.ndarray) else a
        zipped = gz if isinstance(gz, bool) else name in gz
        p = directory / (name + ".gz" if zipped else name)
        p.write_bytes(gzip.compress(data, mtime=0) if zipped else data)
        out[name] = p
    return out


def assert_loaded(result, arrays):
    X_train, y_train, X_test, y_test = result
    for X, key in ((X_train, "train-images-idx3-ubyte"), (X_test, "t10k-images-idx3-ubyte")):
        img = arrays[key]
        assert X.shape == (len(img), img.shape[1] * img.shape[2]) and X.dtype == np.float64
        np.testing.assert_array_equal(X, img.reshape(len(img), -1) / 255.0)
        assert 0.0 <= X.min() and X.max() <= 1.0
    for y, key in ((y_train, "train-labels-idx1-ubyte"), (y_test, "t10k-labels-idx1-ubyte")):
        assert y.shape == arrays[key].shape and y.dtype.kind == "i"
        np.testing.assert_array_equal(y, arrays[key])


# ---------------------------------------------------------------- the parser
@pytest.mark.parametrize("gz", [True, False, {"train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}],
                         ids=["gzipped", "raw", "mixed"])
def test_load_mnist_reads_idx_files_gzipped_or_raw(tmp_path, gz):
    arrays = tiny_mnist()
    write(tmp_path, arrays, gz)
    assert_loaded(D.load_mnist(tmp_path), arrays)


def test_pixels_are_scaled_by_255_row_by_row(tmp_path):
    # one 2×3 image whose pixels are 0, 51, 102 / 153, 204, 255: its row is 0, 0.2, …, 1.0
    img = np.array([[[0, 51, 102], [153, 204, 255]]], np.uint8)
    write(tmp_path, {"train-images-idx3-ubyte": img, "train-labels-idx1-ubyte": np.array([3], np.uint8),
                     "t10k-images-idx3-ubyte": img[:, ::-1], "t10k-labels-idx1-ubyte": np.array([9], np.uint8)})
    X_train, y_train, X_test, y_test = D.load_mnist(tmp_path)
    np.testing.assert_allclose(X_train, [[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]], atol=1e-15)
    np.testing.assert_allclose(X_test, [[0.6, 0.8, 1.0, 0.0, 0.2, 0.4]], atol=1e-15)
    assert y_train.tolist() == [3] and y_test.tolist() == [9]


def test_load_mnist_dtype_float32(tmp_path):
    arrays = tiny_mnist(1)
    write(tmp_path, arrays)
    X_train, _, X_test, _ = D.load_mnist(tmp_path, dtype=np.float32)
    assert X_train.dtype == X_test.dtype == np.float32
    np.testing.assert_allclose(X_train, arrays["train-images-idx3-ubyte"].reshape(7, -1) / 255, rtol=1e-6)
    with pytest.raises(TypeError, match="floating dtype"):
        D.load_mnist(tmp_path, dtype=np.int32)


@pytest.mark.parametrize("code, a", [
    (0x08, np.array([[0, 255], [7, 9]], np.uint8)),
    (0x09, np.array([-128, 0, 127], np.int8)),
    (0x0B, np.array([[-2, 300], [1, -30000]], np.int16)),
    (0x0C, np.arange(-3, 9, dtype=np.int32).reshape(2, 3, 2)),
    (0x0D, np.array([1.5, -2.25], np.float32)),
    (0x0E, np.array([[np.pi]], np.float64)),
])
def test_read_idx_every_type_code(tmp_path, code, a):
    p = tmp_path / "x.idx"
    p.write_bytes(idx_bytes(a, code))
    got = D.read_idx(p)
    assert got.shape == a.shape and got.dtype == a.dtype
    np.testing.assert_array_equal(got, a)


def _rewrite(path: Path, fn):
    path.write_bytes(gzip.compress(fn(gzip.decompress(path.read_bytes())), mtime=0))


@pytest.mark.parametrize("name, damage, message", [
    ("train-images-idx3-ubyte", lambda b: b"\x01" + b[1:], "magic number"),
    ("train-labels-idx1-ubyte", lambda b: b[:2] + b"\x0a" + b[3:], "unknown IDX type code 0x0A"),
    ("t10k-images-idx3-ubyte", lambda b: b[:-1], "holds 47 bytes after its header"),
    ("t10k-images-idx3-ubyte", lambda b: b + b"\x00", "holds 49 bytes after its header"),
    ("t10k-labels-idx1-ubyte", lambda b: b[:6], "ends after 6 bytes"),
    ("t10k-labels-idx1-ubyte", lambda b: b"", "an empty file"),
    ("train-images-idx3-ubyte", lambda b: b[:2] + b"\x0b" + b[3:8] + b"\x00\x00\x00\x02" + b[12:],
     "type code 0x08"),  # int16 of 7×2×4: a valid IDX file, but not MNIST's unsigned bytes
    ("train-labels-idx1-ubyte", lambda b: b[:3] + b"\x02" + b[4:8] + b"\x00\x00\x00\x01" + b[8:],
     "1 dimension"),  # labels of shape (7, 1)
])
def test_malformed_files_are_refused_with_a_clear_error(tmp_path, name, damage, message):
    write(tmp_path, tiny_mnist())
    _rewrite(tmp_path / f"{name}.gz", damage)
    with pytest.raises(D.IDXFormatError, match=message) as info:
        D.load_mnist(tmp_path)
    assert name in str(info.value)  # names the file


def test_label_count_must_match_the_images(tmp_path):
    arrays = tiny_mnist()
    arrays["t10k-labels-idx1-ubyte"] = arrays["t10k-labels-idx1-ubyte"][:2]
    write(tmp_path, arrays)
    with pytest.raises(D.IDXFormatError, match="2 labels for 3 images"):
        D.load_mnist(tmp_path)


def test_training_and_test_images_must_have_the_same_size(tmp_path):
    arrays = tiny_mnist()
    arrays["t10k-images-idx3-ubyte"] = arrays["t10k-images-idx3-ubyte"][:, :3, :]
    write(tmp_path, arrays)
    with pytest.raises(D.IDXFormatError, match="test images of 12 pixels, training images of 16"):
        D.load_mnist(tmp_path)


def test_labels_must_be_digits(tmp_path):
    arrays = tiny_mnist()
    arrays["train-labels-idx1-ubyte"][4] = 10
    write(tmp_path, arrays)
    with pytest.raises(D.IDXFormatError, match=r"digits 0-9, found 10 \(at index 4\)"):
        D.load_mnist(tmp_path)


def test_a_damaged_gzip_is_refused(tmp_path):
    write(tmp_path, tiny_mnist())
    p = tmp_path / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:20])
    with pytest.raises(D.IDXFormatError, match="damaged gzip"):
        D.load_mnist(tmp_path)


# ---------------------------------------------------------------- where it looks, what it says when absent
def test_missing_files_raise_one_error_naming_the_files_and_the_place(tmp_path, monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("load_mnist(download=False) must not touch the network")

    monkeypatch.setattr(D.urllib.request, "urlopen", no_network)
    arrays = tiny_mnist()
    del arrays["t10k-labels-idx1-ubyte"]
    write(tmp_path, arrays)
    with pytest.raises(D.MNISTNotFoundError) as info:
        D.load_mnist(tmp_path)
    assert isinstance(info.value, FileNotFoundError)
    text = str(info.value)
    assert "1 of its 4 files are missing" in text and str(tmp_path) in text
    assert all(name in text for name in NAMES) and "download=True" in text and D.MNIST_DIR_ENV in text


def test_cache_dir_default_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(D.MNIST_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert D.mnist_cache_dir() == tmp_path / "xdg" / "ann_core" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert D.mnist_cache_dir() == tmp_path / "home" / ".cache" / "ann_core" / "mnist"
    monkeypatch.setenv(D.MNIST_DIR_ENV, str(tmp_path / "env"))
    assert D.mnist_cache_dir() == tmp_path / "env"
    arrays = tiny_mnist(2)
    write(tmp_path / "env", arrays)
    assert_loaded(D.load_mnist(), arrays)  # no path: the cache
    with pytest.raises(D.MNISTNotFoundError, match=str(tmp_path / "other")):
        D.load_mnist(cache_dir=tmp_path / "other")  # cache_dir= wins over the environment
    write(tmp_path / "other", tiny_mnist(3))
    assert_loaded(D.load_mnist(tmp_path / "env", cache_dir=tmp_path / "other"), arrays)  # path wins over both


def test_the_real_hashes_are_the_four_files():
    assert tuple(D.MNIST_SHA256) == tuple(n + ".gz" for n in NAMES) == tuple(n + ".gz" for n in D.MNIST_FILES)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in D.MNIST_SHA256.values())
    assert len(set(D.MNIST_SHA256.values())) == 4


# ---------------------------------------------------------------- download, against 127.0.0.1
class Mirror:
    """A static HTTP server on 127.0.0.1 with one folder per mirror; counts the requests."""

    def __init__(self, root: Path):
        self.root, self.requests = root, []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                mirror.requests.append(self.path)
                if self.path.startswith("/cut/"):  # announces 1,000 bytes, sends 10, hangs up
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b"\x1f\x8b" + bytes(8))
                    self.close_connection = True
                    return
                super().do_GET()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, folder: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{folder}/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """Folder ``good`` holds a tiny MNIST, gzipped, whose hashes are patched into ``MNIST_SHA256``;
    ``bad`` holds the same files with one byte of the training images flipped."""
    arrays = tiny_mnist(5)
    good = write(tmp_path / "www" / "good", arrays)
    monkeypatch.setattr(D, "MNIST_SHA256", {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                                            for p in good.values()})
    bad = write(tmp_path / "www" / "bad", arrays)
    data = bytearray(bad["train-images-idx3-ubyte"].read_bytes())
    data[-12] ^= 0xFF  # inside the deflate stream: still served, wrong SHA-256
    bad["train-images-idx3-ubyte"].write_bytes(bytes(data))
    m = Mirror(tmp_path / "www")
    m.arrays = arrays
    yield m
    m.close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"  # nothing listens there once the socket is closed


def test_download_fetches_checks_and_caches(tmp_path, mirror, capsys):
    cache = tmp_path / "cache"
    assert_loaded(D.load_mnist(cache_dir=cache, download=True, mirrors=[mirror.url("good")]), mirror.arrays)
    assert sorted(p.name for p in cache.iterdir()) == sorted(n + ".gz" for n in NAMES)  # no temporary files
    assert len(mirror.requests) == 4
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err  # the progress bar
    # cached: a second call needs no network
    assert_loaded(D.load_mnist(cache_dir=cache, download=True, mirrors=[closed_port_url()]), mirror.arrays)
    assert len(mirror.requests) == 4


def test_download_uses_the_module_mirrors_by_default(tmp_path, mirror, monkeypatch, capsys):
    monkeypatch.setattr(D, "MIRRORS", (mirror.url("good"),))
    monkeypatch.setenv(D.MNIST_DIR_ENV, str(tmp_path / "env-cache"))
    assert_loaded(D.load_mnist(download=True, progress=False), mirror.arrays)
    assert (tmp_path / "env-cache" / "t10k-labels-idx1-ubyte.gz").is_file()
    assert capsys.readouterr().err == ""  # progress=False: no bar


def test_a_corrupted_file_is_refused_and_nothing_is_cached(tmp_path, mirror):
    cache = tmp_path / "cache"
    with pytest.raises(D.MNISTNotFoundError) as info:
        D.load_mnist(cache_dir=cache, download=True, mirrors=[mirror.url("bad")], progress=False)
    text = str(info.value)
    assert "wrong SHA-256" in text and "train-images-idx3-ubyte.gz" in text and "file refused" in text
    assert "1 of its 4 files are missing" in text
    assert not (cache / "train-images-idx3-ubyte.gz").exists()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    # the three good files were checked and kept; the bad one is absent, so loading still refuses
    assert sorted(p.name for p in cache.iterdir()) == sorted(n + ".gz" for n in NAMES if n != NAMES[0])


def test_a_failing_mirror_falls_through_to_the_next(tmp_path, mirror):
    cache = tmp_path / "cache"
    mirrors = [closed_port_url(), mirror.url("missing"), mirror.url("cut"), mirror.url("bad"), mirror.url("good")]
    assert_loaded(D.load_mnist(cache_dir=cache, download=True, mirrors=mirrors, progress=False), mirror.arrays)
    # every file was asked of "missing" (404) and "cut" (a body cut short) first; only the images that "bad"
    # corrupts needed "good"
    assert [r for r in mirror.requests if r.startswith("/missing/")] == [f"/missing/{n}.gz" for n in NAMES]
    assert [r for r in mirror.requests if r.startswith("/cut/")] == [f"/cut/{n}.gz" for n in NAMES]
    assert [r for r in mirror.requests if r.startswith("/good/")] == ["/good/train-images-idx3-ubyte.gz"]
    assert hashlib.sha256((cache / "train-images-idx3-ubyte.gz").read_bytes()).hexdigest() == \
        D.MNIST_SHA256["train-images-idx3-ubyte.gz"]


def test_a_transfer_cut_short_is_refused(tmp_path, mirror):
    cache = tmp_path / "cache"
    with pytest.raises(D.MNISTNotFoundError) as info:
        D.load_mnist(cache_dir=cache, download=True, mirrors=[mirror.url("cut")], progress=False)
    assert "received 10 of 1,000 bytes (the transfer was cut); file refused" in str(info.value)
    assert not list(cache.iterdir())


def test_offline_download_raises_the_one_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        D.load_mnist(cache_dir=tmp_path / "cache", download=True, mirrors=[closed_port_url()], progress=False,
                     timeout=5)
    text = str(info.value)
    assert isinstance(info.value, D.MNISTNotFoundError)
    assert "4 of its 4 files are missing" in text and all(n in text for n in NAMES)
    assert "The download failed" in text and "Connection refused" in text
    assert not list((tmp_path / "cache").iterdir())


def test_real_mnist_when_present():
    try:
        X_train, y_train, X_test, y_test = D.load_mnist(progress=False)
    except D.MNISTNotFoundError:
        pytest.skip("MNIST is not in the cache on this machine (load_mnist(download=True) fetches it)")
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert np.bincount(y_train).tolist()[:2] == [5923, 6742]  # the published class counts
