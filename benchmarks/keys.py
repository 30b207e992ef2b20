"""Signatures per second: a loaded huesign PrivateKey against the raw cryptography key.

Run with ``python benchmarks/keys.py``.  For each algorithm the same PEM key is loaded once
through huesign and once through cryptography; both sign the same message in alternating
rounds, and the script prints the median rate of each and the median of the per-round ratios
raw / huesign (paired rounds cancel most of the drift of a busy machine).  The goal is a
ratio of at most 1.05: huesign's wrapper costs no more than 5 %.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from huesign.pki import HashAlgorithm, KeyAlgorithm, PrivateKey

MESSAGE = b"Don de nghi cap ban sao trich luc khai sinh - ho so 46.000123" * 4


def _raw_signer(algorithm: KeyAlgorithm, pem: bytes) -> Callable[[bytes], bytes]:
    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key
        return lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ec_key = key
        return lambda data: ec_key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        ed_key = key
        return ed_key.sign
    raise SystemExit(f"unexpected key type for {algorithm.value}")


def _huesign_signer(pem: bytes) -> Callable[[bytes], bytes]:
    key = PrivateKey.from_pem(pem)
    return lambda data: key.sign(data, hash_algorithm=HashAlgorithm.SHA256)


def _rate(sign: Callable[[bytes], bytes], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        sign(MESSAGE)
    return count / (time.perf_counter() - start)


def main() -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31, help="timed rounds per signer")
    parser.add_argument("--seconds", type=float, default=0.1, help="target length of a round (s)")
    args = parser.parse_args()

    cases = [
        ("RSA-2048 PKCS#1 v1.5 SHA-256", KeyAlgorithm.RSA_2048),
        ("ECDSA P-256 SHA-256", KeyAlgorithm.EC_P256),
        ("Ed25519", KeyAlgorithm.ED25519),
    ]
    print(f"{'algorithm':<30} {'huesign/s':>11} {'raw/s':>11} {'raw/huesign':>12}")
    for label, algorithm in cases:
        pem = PrivateKey.generate(algorithm).to_pem()
        ours, raw = _huesign_signer(pem), _raw_signer(algorithm, pem)
        # Calibrate the number of signatures per round on the raw key, then warm both up.
        count = max(10, int(_rate(raw, 50) * args.seconds))
        _rate(ours, count // 4)
        _rate(raw, count // 4)
        ours_rates, raw_rates = [], []
        for index in range(args.rounds):
            # Alternate which signer goes first, so neither always gets the warmer cache.
            if index % 2:
                raw_rates.append(_rate(raw, count))
                ours_rates.append(_rate(ours, count))
            else:
                ours_rates.append(_rate(ours, count))
                raw_rates.append(_rate(raw, count))
        ratio = statistics.median(r / o for r, o in zip(raw_rates, ours_rates, strict=True))
        print(
            f"{label:<30} {statistics.median(ours_rates):>11,.0f} "
            f"{statistics.median(raw_rates):>11,.0f} {ratio:>12.3f}"
        )


if __name__ == "__main__":
    main()
