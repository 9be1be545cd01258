"""The offline check (``python -m center verify``) tells a sample from a certificate by
the trust list's ``development`` flag, with no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from center import verify_cli
from center.qr_keys import QrKeyring
from tests.unit.antiforgery_helpers import ISSUED_AT, finish, front_pdf


def _saved(tmp_path: Path, development: bool) -> tuple[Path, Path]:
    ring = QrKeyring.load_or_create(tmp_path / "qr", ISSUED_AT, development=development)
    pdf, _ = finish(ring, front_pdf())
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(pdf)
    trust_list = tmp_path / "trust-list.json"
    trust_list.write_text(json.dumps(ring.trust_list()), encoding="utf-8")
    return certificate, trust_list


def test_a_development_key_certificate_is_reported_as_a_sample(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    certificate, trust_list = _saved(tmp_path, development=True)
    assert verify_cli.run(certificate, trust_list, as_json=False) == 0
    out = capsys.readouterr().out
    assert "signature-valid" in out and "SAMPLE (見本)" in out and "開発用の鍵" in out
    assert verify_cli.run(certificate, trust_list, as_json=True) == 0
    assert json.loads(capsys.readouterr().out)["development_key"] is True


def test_a_production_key_certificate_is_not_a_sample(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    certificate, trust_list = _saved(tmp_path, development=False)
    assert verify_cli.run(certificate, trust_list, as_json=False) == 0
    out = capsys.readouterr().out
    assert "見本" not in out and "production key" in out
    assert verify_cli.run(certificate, trust_list, as_json=True) == 0
    assert json.loads(capsys.readouterr().out)["development_key"] is False


def test_a_trust_list_saved_before_the_flag_says_it_cannot_tell(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    certificate, trust_list = _saved(tmp_path, development=True)
    document = json.loads(trust_list.read_text(encoding="utf-8"))
    for entry in document["keys"]:
        del entry["development"]
    trust_list.write_text(json.dumps(document), encoding="utf-8")
    assert verify_cli.run(certificate, trust_list, as_json=False) == 0
    out = capsys.readouterr().out
    assert "does not say whether the key is a development key" in out
    assert "SAMPLE" not in out
