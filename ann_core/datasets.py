"""Data sets (數據集 / 数据集): small ones that need no network, and MNIST when you have it.

``xor``, ``two_moons`` and ``spirals`` are generated from a seed; ``digits`` is
scikit-learn's bundled 8×8 handwritten digits (1,797 images, shipped inside the
package, never downloaded) with a fixed stratified split: the course's offline
stand-in for MNIST.

``load_mnist`` reads the real MNIST (LeCun, Cortes and Burges: 60,000 + 10,000
images of 28×28 pixels) from its four standard IDX files, gzipped or not, in a
directory you name or in the cache (``mnist_cache_dir()``); it downloads them only
when asked (``download=True``), checking each file's SHA-256.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

DIGITS_TEST_SIZE = 360  # 20 % of 1,797, stratified by class
DIGITS_SEED = 0


def xor():
    """The four XOR points: ``X`` ``(4, 2)`` and targets ``y`` ``(4, 1)`` in {0, 1}."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return X, np.array([[0], [1], [1], [0]], dtype=np.float64)


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles: ``X`` ``(n, 2)``, labels ``y`` ``(n,)`` in {0, 1}."""
    if n < 2:
        raise ValueError(f"two_moons needs n >= 2, got {n}")
    rng = np.random.default_rng(seed)
    n0 = n // 2
    a0 = np.linspace(0, np.pi, n0)
    a1 = np.linspace(0, np.pi, n - n0)
    X = np.vstack([
        np.column_stack([np.cos(a0), np.sin(a0)]),
        np.column_stack([1 - np.cos(a1), 0.5 - np.sin(a1)]),
    ])
    X += rng.normal(0, noise, X.shape)
    y = np.r_[np.zeros(n0, int), np.ones(n - n0, int)]
    idx = rng.permutation(n)
    return X[idx], y[idx]


def spirals(n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed: int = 0):
    """Interleaved spiral arms (CS231n's toy set): ``X`` ``(n_per_class·K, 2)``, ``y`` in 0..K−1."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class) + rng.normal(0, noise, n_per_class)
        X.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        y.append(np.full(n_per_class, k))
    return np.vstack(X), np.concatenate(y)


def one_hot(y, n_classes: int | None = None):
    """Integer labels ``(N,)`` → one-hot matrix ``(N, n_classes)`` of floats."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iub":
        raise ValueError(f"one_hot needs a 1-D array of integer labels, got shape {y.shape}, dtype {y.dtype}")
    k = int(y.max()) + 1 if n_classes is None else n_classes
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must lie in 0..{k - 1}, found {y.min()}..{y.max()}")
    out = np.zeros((y.size, k))
    out[np.arange(y.size), y] = 1.0
    return out


def digits():
    """scikit-learn's 8×8 digits, pixels scaled to [0, 1], split once and for all.

    Returns ``X_train (1437, 64), y_train (1437,), X_test (360, 64), y_test (360,)``;
    labels are integers 0-9. The split is stratified by class with seed 0, so every
    run, lesson and benchmark sees the same test images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = data.data.astype(np.float64) / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, data.target, test_size=DIGITS_TEST_SIZE, stratify=data.target, random_state=DIGITS_SEED
    )
    return X_train, y_train, X_test, y_test


# ---------------------------------------------------------------- MNIST
# The four files as distributed, and the SHA-256 of each gzipped file. The values are those
# tensorflow-datasets records for these files (tensorflow_datasets/url_checksums/mnist.txt, with
# their sizes 9,912,422 / 28,881 / 1,648,877 / 4,542 bytes); torchvision lists only their MD5s.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_FILES = tuple(name.removesuffix(".gz") for name in MNIST_SHA256)  # the four IDX files, ungzipped names
# Base URLs tried in order for each file (torchvision's and tensorflow-datasets' mirrors, then the original).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MNIST_DIR_ENV = "ANN_MNIST_DIR"  # overrides the cache directory
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class IDXFormatError(ValueError):
    """A file that is not a well-formed IDX file (or not the MNIST file it should be)."""


class MNISTNotFoundError(FileNotFoundError):
    """MNIST is not on this machine (and could not be downloaded, if that was asked)."""


def mnist_cache_dir() -> Path:
    """Where MNIST is looked for and cached: ``$ANN_MNIST_DIR``, else ``$XDG_CACHE_HOME/ann_core/mnist``,
    else ``~/.cache/ann_core/mnist``."""
    if os.environ.get(MNIST_DIR_ENV):
        return Path(os.environ[MNIST_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "ann_core" / "mnist"


def read_idx(path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (gzipped or raw; told apart by content, not name).

    IDX: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions ``d``, ``d`` big-endian
    uint32 sizes, then the values in C order. Raises ``IDXFormatError`` naming the file and
    the problem (bad magic number, unknown type code, too few or too many bytes).
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IDXFormatError(f"{path}: a damaged gzip file ({exc})") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise IDXFormatError(f"{path}: not an IDX file (its magic number must start with two zero bytes, "
                             f"found {raw[:4].hex(' ') or 'an empty file'})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise IDXFormatError(f"{path}: unknown IDX type code 0x{code:02X} "
                             f"(known: {', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXFormatError(f"{path}: the header announces {ndim} dimensions but the file ends after "
                             f"{len(raw)} bytes")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise IDXFormatError(f"{path}: the header says shape {shape} ({expected:,} bytes of data) but the file "
                             f"holds {len(raw) - header:,} bytes after its header")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def _not_found(directory: Path, missing, reasons=()) -> MNISTNotFoundError:
    lines = [f"MNIST is not available: {len(missing)} of its 4 files are missing from {directory}.",
             "It needs these files (each gzipped, .gz, or not):",
             *(f"  {n}" for n in MNIST_FILES),
             "Either call load_mnist(download=True) (needs the internet), or download them from one of",
             *(f"  {m}" for m in MIRRORS),
             f"and put them in {directory} (set ${MNIST_DIR_ENV} to use another directory, or pass "
             "load_mnist(path=...)).",
             "Offline, the course uses scikit-learn's bundled 8×8 digits instead: ann_core.datasets.digits()."]
    if reasons:
        lines += ["The download failed:", *(f"  {r}" for r in reasons)]
    return MNISTNotFoundError("\n".join(lines))


def _download(name: str, directory: Path, mirrors, timeout: float, progress: bool) -> list[str]:
    """Fetch ``name`` (a .gz file) into ``directory`` from the first mirror whose copy has the right
    SHA-256; written to a temporary file, renamed only once checked. Returns the failures seen
    (empty on success); on failure nothing is left in ``directory``."""
    from tqdm.auto import tqdm

    reasons = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
        try:
            digest, received = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress,
                          leave=False) as bar:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
            if total is not None and received != total:
                reasons.append(f"{url}: received {received:,} of {total:,} bytes (the transfer was cut); "
                               "file refused")
                continue
            if digest.hexdigest() != MNIST_SHA256[name]:
                reasons.append(f"{url}: wrong SHA-256 {digest.hexdigest()} (expected {MNIST_SHA256[name]}); "
                               "file refused")
                continue
            os.replace(tmp, directory / name)
            return []
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError, HTTPError, timeouts
            reasons.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return reasons


def load_mnist(path=None, *, download: bool = False, cache_dir=None, mirrors=None, timeout: float = 60.0,
               progress: bool = True, dtype=np.float64):
    """MNIST's handwritten digits: ``X_train (60000, 784), y_train (60000,), X_test (10000, 784), y_test (10000,)``.

    Pixels are scaled to [0, 1] (``dtype``, float64 by default, as the rest of ann_core); each row is
    one 28×28 image, row by row. Labels are integers 0-9 (``int64``).

    The four IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each gzipped with ``.gz`` or raw)
    are read from the directory ``path``, else ``cache_dir``, else ``mnist_cache_dir()``
    (``$ANN_MNIST_DIR`` or ``~/.cache/ann_core/mnist``). With ``download=True`` the missing ones
    are fetched into that directory from ``mirrors`` (default ``MIRRORS``, tried in order), each
    checked against its SHA-256 in ``MNIST_SHA256`` before it is kept, with a progress bar
    unless ``progress=False``. A file that fails the check (or arrives cut short) is refused:
    nothing of it is cached.

    Raises ``MNISTNotFoundError`` (a ``FileNotFoundError``) naming the four files and where to put
    them when they are missing (and could not be downloaded), and ``IDXFormatError`` (a
    ``ValueError``) when a file is not the IDX file it should be.
    """
    directory = Path(path if path is not None else cache_dir if cache_dir is not None else mnist_cache_dir())
    directory = directory.expanduser()
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"load_mnist needs a floating dtype for the pixels, got {np.dtype(dtype)}")
    found = {name: _find(directory, name) for name in MNIST_FILES}
    missing = [name for name, p in found.items() if p is None]
    if missing and download:
        directory.mkdir(parents=True, exist_ok=True)
        reasons = []
        for name in missing:
            reasons += _download(name + ".gz", directory, MIRRORS if mirrors is None else tuple(mirrors),
                                 timeout, progress)
        found = {name: _find(directory, name) for name in MNIST_FILES}
        missing = [name for name, p in found.items() if p is None]
        if missing:
            raise _not_found(directory, missing, reasons)
    elif missing:
        raise _not_found(directory, missing)

    def images(name):
        a = read_idx(found[name])
        if a.dtype != np.uint8 or a.ndim != 3:
            raise IDXFormatError(f"{found[name]}: MNIST images are unsigned bytes (type code 0x08) of 3 "
                                 f"dimensions (n, rows, cols); found {a.dtype} of shape {a.shape}")
        X = a.reshape(len(a), -1).astype(dtype)
        X /= 255  # in place: one array of 60,000 × 784 at a time
        return X

    def labels(name, n_images):
        a = read_idx(found[name])
        if a.dtype != np.uint8 or a.ndim != 1:
            raise IDXFormatError(f"{found[name]}: MNIST labels are unsigned bytes (type code 0x08) of 1 "
                                 f"dimension (n,); found {a.dtype} of shape {a.shape}")
        if len(a) != n_images:
            raise IDXFormatError(f"{found[name]}: {len(a)} labels for {n_images} images")
        if a.size and a.max() > 9:
            raise IDXFormatError(f"{found[name]}: labels must be digits 0-9, found {int(a.max())} "
                                 f"(at index {int(np.argmax(a > 9))})")
        return a.astype(np.int64)

    X_train = images("train-images-idx3-ubyte")
    X_test = images("t10k-images-idx3-ubyte")
    if X_train.shape[1] != X_test.shape[1]:
        raise IDXFormatError(f"{found['t10k-images-idx3-ubyte']}: test images of {X_test.shape[1]} pixels, "
                             f"training images of {X_train.shape[1]}")
    y_train = labels("train-labels-idx1-ubyte", len(X_train))
    y_test = labels("t10k-labels-idx1-ubyte", len(X_test))
    return X_train, y_train, X_test, y_test
