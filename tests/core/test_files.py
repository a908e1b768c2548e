"""The atomic writer shared by projects, checkpoints, run directories and exports: what it
does with links and with destinations that are not regular files."""

from __future__ import annotations

import os
import stat

import pytest

from resnet_studio.files import NotRegularFileError, write_atomic, write_text_atomic


def test_a_symlink_at_the_destination_is_written_through(tmp_path):
    target = tmp_path / "data" / "real.txt"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(os.path.relpath(target, tmp_path))
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == os.path.join("data", "real.txt")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["data", "link.txt"]
    assert os.listdir(target.parent) == ["real.txt"]  # the temporary file lay beside the target


def test_a_chain_of_links_and_a_dangling_link_reach_the_final_file(tmp_path):
    final = tmp_path / "final.txt"
    (tmp_path / "middle").symlink_to(final)  # dangling until the write creates final.txt
    (tmp_path / "first").symlink_to(tmp_path / "middle")
    write_atomic(tmp_path / "first", lambda handle: handle.write(b"\x00\x01"))
    assert final.read_bytes() == b"\x00\x01"
    assert (tmp_path / "first").is_symlink() and (tmp_path / "middle").is_symlink()


def test_a_link_to_a_device_is_refused_and_the_device_left_alone(tmp_path):
    link = tmp_path / "out.pt"
    link.symlink_to(os.devnull)
    with pytest.raises(NotRegularFileError, match="a character device, not a regular file"):
        write_text_atomic(link, "x")
    assert link.is_symlink() and stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert os.listdir(tmp_path) == ["out.pt"]


def test_a_device_node_at_the_destination_is_refused(tmp_path):
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    with pytest.raises(NotRegularFileError, match="character device"):
        write_text_atomic(node, "x")
    assert stat.S_ISCHR(node.lstat().st_mode)


def test_a_fifo_and_a_folder_are_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match="a FIFO"):
        write_text_atomic(fifo, "x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    with pytest.raises(NotRegularFileError, match="a folder") as caught:
        write_text_atomic(tmp_path, "x")
    assert isinstance(caught.value, OSError) and caught.value.filename == str(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


def test_the_checkpoint_and_project_writers_name_the_refused_file(tmp_path):
    import torch

    from resnet_studio.api import new_project
    from resnet_studio.graph import ProjectFileError, project
    from resnet_studio.train import CheckpointError, save_checkpoint
    from resnet_studio.train.checkpoint import MARKER

    link = tmp_path / "last.pt"
    link.symlink_to(os.devnull)
    with pytest.raises(CheckpointError, match=r"last.pt: cannot be written \(it is a character "
                                              r"device, not a regular file\)"):
        save_checkpoint({MARKER: 1, "w": torch.ones(1)}, link)
    with pytest.raises(ProjectFileError, match=r"net\.json.*not a regular file"):
        project.save(new_project("resnet20"), _fifo(tmp_path / "net.json"))


def _fifo(path):
    os.mkfifo(path)
    return path
