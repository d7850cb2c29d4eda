"""The restricted reader refuses anything but a plain legacy state_dict."""

import pickle

import pytest

from train.torch_legacy import LEGACY_MAGIC, LEGACY_PROTOCOL, CheckpointError, read_state_dict


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"\x00\x01not a checkpoint")
    with pytest.raises(CheckpointError):
        read_state_dict(path)


def test_wrong_magic_is_refused(tmp_path):
    path = tmp_path / "wrong.pth"
    path.write_bytes(pickle.dumps(12345))
    with pytest.raises(CheckpointError, match="magic"):
        read_state_dict(path)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_arbitrary_globals_are_never_resolved(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    with path.open("wb") as f:
        for part in (LEGACY_MAGIC, LEGACY_PROTOCOL, {"little_endian": True}):
            pickle.dump(part, f, protocol=2)
        pickle.dump({"w": _Evil()}, f, protocol=2)
    with pytest.raises(CheckpointError, match=r"print, which a plain state_dict never needs"):
        read_state_dict(path)
    assert "must never run" not in capsys.readouterr().out


def test_truncated_checkpoint_is_refused(tmp_path):
    from train.backbone import VARIANTS, checkpoint_path

    data = checkpoint_path(VARIANTS["efficientnet_lite0"]).read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        read_state_dict(path)
