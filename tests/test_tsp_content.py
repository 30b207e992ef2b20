"""``check_timestamp_token`` takes the same content types as CMS: bytes, file, path, chunks."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from huesign.pki import DevelopmentCA, check_timestamp_token

DATA = bytes(range(256)) * 300


@pytest.fixture(scope="module")
def token(huesign_pki: DevelopmentCA) -> bytes:
    return huesign_pki.timestamp(hashlib.sha256(DATA).digest())


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_token_checks_over_a_path(token: bytes, tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    assert check_timestamp_token(token, data=path).ok


def test_token_checks_over_a_binary_file(token: bytes) -> None:
    assert check_timestamp_token(token, data=io.BytesIO(DATA)).ok


def test_token_checks_over_an_iterator_of_chunks(token: bytes) -> None:
    assert check_timestamp_token(token, data=_chunks(DATA)).ok


def test_token_over_other_chunks_is_an_imprint_mismatch(token: bytes) -> None:
    check = check_timestamp_token(token, data=_chunks(DATA[:-1] + b"\x00"))
    assert check.problem == "timestamp_imprint_mismatch"
