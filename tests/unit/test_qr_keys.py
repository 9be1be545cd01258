"""The center's QR signing keys: on disk, in the trust list, across a rotation."""

from __future__ import annotations

import json
import re
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from center.qr_keys import BACKDATE, VALIDITY, NoCurrentKey, QrKeyring
from konbini.clock import parse_instant
from konbini.jws import public_key_from_b64, sign_es256, verify_es256

NOW = parse_instant("2026-11-24T10:00:00+09:00")
CLAIMS = {"cid": "c1", "num": "131016-2026-000001", "typ": "juminhyo", "mun": "131016",
          "iat": int(NOW.timestamp()), "dig": "AAAA"}


def _trust_keys(trust_list: dict) -> dict:
    return {entry["kid"]: public_key_from_b64(entry["public_key"])
            for entry in trust_list["keys"]}


def test_first_start_creates_one_key(tmp_path: Path) -> None:
    ring = QrKeyring.load_or_create(tmp_path / "qr", NOW)
    kid, _ = ring.current(NOW)
    assert re.fullmatch(r"qr-2026-11-[0-9a-f]{8}", kid)
    key_file = tmp_path / "qr" / f"{kid}.key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    metadata = json.loads((tmp_path / "qr" / "keys.json").read_text())
    assert [entry["kid"] for entry in metadata] == [kid]
    assert set(metadata[0]) == {"kid", "not_before", "not_after", "development"}
    # A center's own first key is a development key: its certificates say 見本.
    assert metadata[0]["development"] is True and ring.is_development(kid)


def test_reload_finds_the_same_key(tmp_path: Path) -> None:
    kid, key = QrKeyring.load_or_create(tmp_path, NOW).current(NOW)
    again = QrKeyring.load_or_create(tmp_path, NOW + timedelta(days=30))
    kid2, key2 = again.current(NOW + timedelta(days=30))
    assert kid2 == kid
    assert key2.private_numbers() == key.private_numbers()
    assert len(again.keys) == 1


def test_trust_list_shape(tmp_path: Path) -> None:
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    trust_list = ring.trust_list()
    assert list(trust_list) == ["keys"]
    (entry,) = trust_list["keys"]
    assert set(entry) == {"kid", "alg", "public_key", "not_before", "not_after", "development"}
    assert entry["development"] is True  # a center's own key: what it signs is 見本
    production = QrKeyring.load_or_create(tmp_path / "prod", NOW, development=False)
    assert [e["development"] for e in production.trust_list()["keys"]] == [False]
    assert entry["alg"] == "ES256"
    not_before = datetime.fromisoformat(entry["not_before"])
    not_after = datetime.fromisoformat(entry["not_after"])
    assert not_before.utcoffset() is not None and not_after.utcoffset() is not None
    assert not_before == NOW - BACKDATE
    assert not_after - not_before == VALIDITY
    json.dumps(trust_list)  # it goes on the wire as it is


def test_trust_list_key_verifies_a_token(tmp_path: Path) -> None:
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    kid, key = ring.current(NOW)
    token = sign_es256(CLAIMS, key, kid)
    assert verify_es256(token, _trust_keys(ring.trust_list()))[1] == CLAIMS
    assert verify_es256(token, ring.public_keys())[1] == CLAIMS


def test_no_key_outside_the_validity(tmp_path: Path) -> None:
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    ring.current(NOW - timedelta(hours=6))  # a test clock moved back a little is fine
    with pytest.raises(NoCurrentKey):
        ring.current(NOW - BACKDATE - timedelta(seconds=1))
    with pytest.raises(NoCurrentKey):
        ring.current(NOW - BACKDATE + VALIDITY)


def test_rotation_keeps_the_old_kid_verifiable(tmp_path: Path) -> None:
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    old_kid, old_key = ring.current(NOW)
    old_token = sign_es256(CLAIMS, old_key, old_kid)

    later = NOW + timedelta(days=400)
    new_kid = ring.rotate(later)
    assert new_kid != old_kid
    assert new_kid.startswith("qr-2027-12-")
    assert ring.current(later)[0] == new_kid
    assert ring.current(NOW)[0] == old_kid  # the new key is not valid before its start

    for keys in (ring.public_keys(), _trust_keys(ring.trust_list()),
                 QrKeyring.load_or_create(tmp_path, later).public_keys()):
        assert verify_es256(old_token, keys)[1] == CLAIMS
    assert [e["kid"] for e in ring.trust_list(later)["keys"]] == [old_kid, new_kid]

    # Past its not_after the old key leaves the published list.
    old_end = datetime.fromisoformat(ring.trust_list()["keys"][0]["not_after"])
    assert [e["kid"] for e in ring.trust_list(old_end)["keys"]] == [new_kid]


def test_a_new_key_when_all_have_expired(tmp_path: Path) -> None:
    first, _ = QrKeyring.load_or_create(tmp_path, NOW).current(NOW)
    much_later = NOW + VALIDITY + timedelta(days=10)
    ring = QrKeyring.load_or_create(tmp_path, much_later)
    kid, _ = ring.current(much_later)
    assert kid != first
    assert [k.kid for k in ring.keys] == [first, kid]


def test_a_swapped_key_file_is_refused(tmp_path: Path) -> None:
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    old_kid = ring.current(NOW)[0]
    new_kid = ring.rotate(NOW + timedelta(days=1))
    old_file, new_file = tmp_path / f"{old_kid}.key.pem", tmp_path / f"{new_kid}.key.pem"
    old_pem = old_file.read_bytes()
    old_file.write_bytes(new_file.read_bytes())
    new_file.write_bytes(old_pem)
    with pytest.raises(ValueError, match="does not match"):
        QrKeyring.load_or_create(tmp_path, NOW)


def test_naive_times_are_refused(tmp_path: Path) -> None:
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    with pytest.raises(ValueError, match="aware"):
        ring.current(datetime(2026, 11, 24, 10))


def test_each_key_has_its_own_private_scramble_secret(tmp_path: Path) -> None:
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    first, _ = ring.current(NOW)
    secret = ring.scramble_secret(first)
    assert len(secret) == 32
    secret_file = tmp_path / f"{first}.scramble.secret"
    assert secret_file.read_bytes() == secret
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret.hex() not in repr(ring.keys[0])  # never in a log line

    second = ring.rotate(NOW + timedelta(days=400))
    assert ring.scramble_secret(second) != secret
    again = QrKeyring.load_or_create(tmp_path, NOW)
    assert again.scramble_secret(first) == secret
    assert again.scramble_secret(second) == ring.scramble_secret(second)
    with pytest.raises(KeyError):
        ring.scramble_secret("qr-2026-11-00000000")


def test_keys_from_before_per_key_secrets_keep_the_shared_one(tmp_path: Path) -> None:
    # A center set up before each key had its own secret scrambled with one shared
    # secret: its keys must keep using it, or its printed certificates lose their fronts.
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    kid, _ = ring.current(NOW)
    (tmp_path / f"{kid}.scramble.secret").unlink()
    shared = bytes(range(32))
    (tmp_path / "scramble.secret").write_bytes(shared)
    assert QrKeyring.load_or_create(tmp_path, NOW).scramble_secret(kid) == shared
    (tmp_path / "scramble.secret").write_bytes(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        QrKeyring.load_or_create(tmp_path, NOW)


def test_a_running_ring_sees_a_key_another_process_added(tmp_path: Path) -> None:
    serving = QrKeyring.load_or_create(tmp_path, NOW)
    old_kid, _ = serving.current(NOW)
    new_kid = QrKeyring.load_or_create(tmp_path, NOW).rotate(NOW)  # `center keys rotate`
    assert serving.current(NOW)[0] == new_kid
    assert [e["kid"] for e in serving.trust_list()["keys"]] == [old_kid, new_kid]
    assert len(serving.scramble_secret(new_kid)) == 32


def test_a_production_key_is_made_only_on_purpose_and_survives_a_reload(
        tmp_path: Path) -> None:
    from center.keys_cli import list_keys, rotate_keys

    ring = QrKeyring.load_or_create(tmp_path, NOW)
    demo_kid, _ = ring.current(NOW)
    print(rotate_keys(tmp_path, NOW, production=True))  # `center keys rotate --production`
    production_kid, _ = ring.current(NOW)
    assert production_kid != demo_kid
    assert ring.is_development(demo_kid) and not ring.is_development(production_kid)
    again = QrKeyring.load_or_create(tmp_path, NOW)
    assert not again.is_development(production_kid)
    # A plain rotation keeps the kind of the newest key: production stays production.
    assert not again.is_development(again.rotate(NOW + timedelta(days=1)))
    # And the operator sees which is which.
    table = list_keys(tmp_path, NOW + timedelta(days=1))
    assert "production" in table and "development (見本)" in table
    with pytest.raises(KeyError):
        again.is_development("qr-2026-11-00000000")


def test_an_empty_directory_rotated_for_production_gets_no_development_key(
        tmp_path: Path) -> None:
    from center.keys_cli import rotate_keys

    rotate_keys(tmp_path, NOW, production=True)
    ring = QrKeyring.load_or_create(tmp_path, NOW)
    assert [ring.is_development(k.kid) for k in ring.keys] == [False]


def test_a_key_listed_before_the_flag_existed_counts_as_development(tmp_path: Path) -> None:
    kid, _ = QrKeyring.load_or_create(tmp_path, NOW).current(NOW)
    metadata = json.loads((tmp_path / "keys.json").read_text())
    for entry in metadata:
        del entry["development"]
    (tmp_path / "keys.json").write_text(json.dumps(metadata))
    assert QrKeyring.load_or_create(tmp_path, NOW).is_development(kid)
    metadata[0]["development"] = "no"
    (tmp_path / "keys.json").write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match="development"):
        QrKeyring.load_or_create(tmp_path, NOW)
