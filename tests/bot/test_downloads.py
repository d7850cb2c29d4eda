"""Files come only from the Bot API file server, as plain relative paths."""

import pytest

from bot.downloads import FileRefused, relative_file_path

BASE = "http://127.0.0.1:8081/file/bot123:ABC"


@pytest.mark.parametrize("path", ["photos/file_1.jpg", "documents/file_22.PNG", "a/b/c-d_e.f"])
def test_plain_paths_on_the_file_server_are_accepted(path):
    assert relative_file_path(f"{BASE}/{path}", BASE) == path


@pytest.mark.parametrize("file_path", [
    None, "", "/etc/passwd", "/proc/self/environ", "../secret.jpg", "photos/file_1.jpg",
    f"{BASE}/../../etc/passwd", f"{BASE}/photos/../../x", f"{BASE}/photos/%2e%2e/x", f"{BASE}//etc/passwd",
    f"{BASE}/photos/.hidden", f"{BASE}/photos/a?b", f"{BASE}/photos\\..\\x", "http://evil.example/file/bot1/x",
    f"{BASE}/", f"{BASE}/photos/",
])
def test_anything_else_is_refused(file_path):
    with pytest.raises(FileRefused):
        relative_file_path(file_path, BASE)
