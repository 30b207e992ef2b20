"""``import_into_token`` adds keys to a token after the PKCS#11 module is loaded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from huesign.pki import CitizenIdentity, DevelopmentCA, Identifier
from huesign.testing.softhsm import SoftHSMToken, import_into_token


def test_keys_go_into_a_second_token_after_the_module_is_loaded(
    tmp_path: Path, huesign_pki: DevelopmentCA, softhsm_module: str
) -> None:
    for name, cccd in (("first", "046190000031"), ("second", "046190000032")):
        issued = huesign_pki.issue(
            CitizenIdentity(common_name="Hồ Thị Mai", identifiers=(Identifier.cccd(cccd),))
        )
        (tmp_path / f"{name}.key").write_bytes(issued.key.to_pem())
        (tmp_path / f"{name}.crt").write_bytes(issued.certificate.to_pem())
    # SoftHSM2 reads SOFTHSM2_CONF once per process: make and use the tokens in a child.
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        import pkcs11
        from huesign.pki import Certificate, PrivateKey
        from huesign.testing.softhsm import create_softhsm_token, import_into_token

        d = Path(sys.argv[1])
        def pair(name):
            return (name, PrivateKey.from_pem((d / f"{name}.key").read_bytes()),
                    Certificate.from_pem((d / f"{name}.crt").read_bytes()))
        spare = create_softhsm_token(d / "hsm", label="spare")
        main = create_softhsm_token(d / "hsm", label="main", objects=[pair("first")])
        spare = import_into_token(spare, [pair("second")])
        assert sorted(main.objects) == ["first"] and sorted(spare.objects) == ["second"]
        lib = pkcs11.lib(spare.module_path)
        with lib.get_token(token_label="spare").open(user_pin=spare.user_pin) as s:
            found = s.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                                   pkcs11.Attribute.ID: bytes.fromhex(spare.objects["second"])})
            assert [o[pkcs11.Attribute.VALUE] for o in found] == [pair("second")[2].der]
            s.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label="second")
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_label_already_on_the_token_is_refused(
    tmp_path: Path, huesign_pki: DevelopmentCA
) -> None:
    issued = huesign_pki.issue(
        CitizenIdentity(common_name="Hồ Thị Mai", identifiers=(Identifier.cccd("046190000033"),))
    )
    token = SoftHSMToken(
        module_path="unused",
        config_path=tmp_path / "softhsm2.conf",
        label="t",
        user_pin="1234",
        so_pin="5678",
        objects={"me": "00"},
    )
    with pytest.raises(ValueError, match="label"):
        import_into_token(token, [("me", issued.key, issued.certificate)])


def test_nothing_to_import_returns_the_token_unchanged(tmp_path: Path) -> None:
    token = SoftHSMToken(
        module_path="unused",
        config_path=tmp_path / "softhsm2.conf",
        label="t",
        user_pin="1234",
        so_pin="5678",
        objects={},
    )
    assert import_into_token(token, []) is token
