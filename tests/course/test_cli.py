"""Options of the `course` command that no server or run is needed to refuse."""

from __future__ import annotations

import pytest

from course import cli

pytestmark = pytest.mark.one_backend


@pytest.mark.parametrize("megabytes", ["inf", "nan", "-1", "0", "1001", "ten"])
def test_an_upload_limit_the_server_cannot_hold_to_is_refused(megabytes, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", "--model", str(tmp_path / "m.keras"), "--max-upload-mb", megabytes])
    assert stopped.value.code == 2
    assert "must be a positive number of megabytes, at most 1,000" in capsys.readouterr().err


def test_an_upload_limit_within_bounds_is_accepted():
    args = cli._parser().parse_args(["serve", "--model", "m.keras", "--max-upload-mb", "1000"])
    assert args.max_upload_mb == 1000
