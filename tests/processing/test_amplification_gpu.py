"""The optional CuPy path equals the CPU path (skipped without CUDA); without it, one clear error."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing import amplification_gpu
from qkdstack.processing.amplification import toeplitz_hash

needs_cuda = pytest.mark.skipif(
    not amplification_gpu.cuda_available(), reason="needs CuPy and a CUDA device"
)


@needs_cuda
@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 0), (97, 97), (4099, 1000), (10**6, 5 * 10**5)])
def test_cuda_equals_cpu(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    key = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    gpu = toeplitz_hash(key, seed, m, backend="cuda")
    assert gpu.dtype == np.uint8
    assert np.array_equal(gpu, toeplitz_hash(key, seed, m))


def test_without_cupy_the_cuda_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    assert not amplification_gpu.cuda_available()
    key = np.ones(8, dtype=np.uint8)
    seed = np.ones(11, dtype=np.uint8)
    with pytest.raises(ParameterError, match=r"'backend'.*CuPy"):
        toeplitz_hash(key, seed, 4, backend="cuda")


def test_unknown_backend() -> None:
    with pytest.raises(ParameterError, match=r"'backend'.*'tpu'"):
        toeplitz_hash(np.ones(8, np.uint8), np.ones(11, np.uint8), 4, backend="tpu")  # type: ignore[arg-type]
