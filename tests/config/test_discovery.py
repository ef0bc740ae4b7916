"""Finding the project (docs/architecture.md#config-language) and the files it includes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import check
from tests.config.conftest import TODAY, write

ONE = "version: 1\nsubscribers:\n  {email}: {{newsletter: unsubscribed}}\n"


def _emails(paths: list[str | Path] | None = None) -> list[str]:
    state, findings = check(paths or [], today=TODAY)
    assert [str(f) for f in findings] == []
    assert state is not None
    return sorted({k.email for k in state.statuses})


def _findings(paths: list[str | Path] | None = None) -> list[str]:
    state, findings = check(paths or [], today=TODAY)
    assert state is None
    return [str(f) for f in findings]


def _one(*emails: str, folder: str = "subscribers") -> dict[str, str]:
    """A subscriber file per address, ``<folder>/<local part>.yaml``."""
    return {f"{folder}/{e.partition('@')[0]}.yaml": ONE.format(email=e) for e in emails}


NEWSLETTER_PROJECT = "version: 1\nsubscriptions: {newsletter: {id: '101'}}\n"


@pytest.mark.parametrize(
    ("files", "paths", "emails"),
    [
        pytest.param(_one("a@example.com"), None, ["a@example.com"], id="no-path-means-cwd"),
        pytest.param(
            {
                "staging.yaml": NEWSLETTER_PROJECT + "include: [staging/*.yaml]\n",
                **_one("s@example.com", folder="staging"),
                **_one("a@example.com"),
            },
            ["staging.yaml"],
            ["s@example.com"],
            id="a-project-file-by-another-name",
        ),
        pytest.param(
            _one("a@example.com", "b@example.com", "c@example.com"),
            ["subscribers/a.yaml", "subscribers/c.yaml"],
            ["a@example.com", "c@example.com"],
            id="several-subscriber-files-of-one-project",
        ),
        pytest.param(
            _one("a@example.com", "b@example.com"),
            ["subscribers/a.yaml", "."],
            ["a@example.com", "b@example.com"],
            id="the-project-with-one-of-its-files-is-all-of-it",
        ),
        pytest.param(
            {**_one("a@example.com"), "seed.yaml": "{{{ not yaml"},
            None,
            ["a@example.com"],
            id="other-yaml-in-the-folder-is-not-read",
        ),
        pytest.param(
            {
                "hsprefs.yaml": NEWSLETTER_PROJECT + "include: ['people/**/*.yaml']\n",
                **_one("a@example.com", folder="people"),
                **_one("b@example.com", folder="people/x"),
                **_one("c@example.com", folder="people/x/y"),
                **_one("d@example.com", folder="people/.hidden"),
            },
            None,
            ["a@example.com", "b@example.com", "c@example.com"],
            id="double-star-matches-any-depth-but-hidden",
        ),
        pytest.param(
            {
                "hsprefs.yaml": NEWSLETTER_PROJECT + "include: ['*.yaml']\n",
                "a.yaml": ONE.format(email="a@example.com"),
            },
            None,
            ["a@example.com"],
            id="the-project-file-never-includes-itself",
        ),
        pytest.param(
            {"subscribers/a.yaml/inner.txt": "x", **_one("b@example.com")},
            None,
            ["b@example.com"],
            id="a-folder-named-like-a-subscriber-file-is-not-read",
        ),
    ],
)
def test_the_subscribers_read(
    project: Path, files: dict[str, str], paths: list[str] | None, emails: list[str]
) -> None:
    """PATH (none: the current folder) names the project; its included files are read."""
    write(project, files)
    assert _emails(list(paths) if paths else None) == emails


@pytest.mark.parametrize(
    ("files", "paths", "finding"),
    [
        pytest.param(
            {"empty/": ""},
            ["empty"],
            "empty/hsprefs.yaml:1:1: error: no hsprefs.yaml in the folder empty; give the "
            "project folder or its project file",
            id="a-folder-without-a-project",
        ),
        pytest.param(
            {**_one("x@example.com", folder="other"), "subscribers/a.yaml": ONE},
            ["other/x.yaml"],
            "other/x.yaml:1:1: error: hsprefs.yaml does not include this file, so plan and "
            "apply would ignore it; add a pattern that matches it to 'include'",
            id="a-file-the-project-does-not-include",
        ),
        pytest.param(
            {},
            ["nope.yaml"],
            "nope.yaml:1:1: error: no such file or folder; check the path: give the project "
            "folder, its hsprefs.yaml, or a subscriber file it includes",
            id="a-missing-path",
        ),
        pytest.param(
            {**_one("a@example.com"), "two/hsprefs.yaml": "version: 1\n"},
            [".", "two"],
            "two:1:1: error: belongs to the project two/hsprefs.yaml, not "
            "hsprefs.yaml; validate one project at a time",
            id="paths-of-two-projects",
        ),
        pytest.param(
            {
                "subscribers/a.yaml": "version: 1\ngroups:\n  partners:\n"
                "    members_file: partners.csv\n    set: {newsletter: unsubscribed}\n",
                "subscribers/partners.csv": "email\nb@example.com\n",
            },
            ["subscribers/partners.csv"],
            "subscribers/partners.csv:1:1: error: this is the roster of group 'partners' "
            "(members_file at subscribers/a.yaml:4:19); a roster is checked through the file "
            "that names it: validate that file or the project (hsprefs.yaml)",
            id="a-roster-given-alone-is-explained",
        ),
        pytest.param(
            {**_one("a@example.com"), "list.csv": "email\n"},
            ["list.csv"],
            "list.csv:1:1: error: hsprefs.yaml does not include this file and no group names it "
            "as its members_file; give the project folder, hsprefs.yaml or a subscriber file it "
            "includes",
            id="a-csv-no-group-names-is-not-a-subscriber-file",
        ),
    ],
)
def test_a_path_that_is_not_of_the_project(
    project: Path, files: dict[str, str], paths: list[str], finding: str
) -> None:
    """A PATH that names no project file or none of its files is one finding saying why."""
    for name in [n for n in files if n.endswith("/")]:
        (project / name).mkdir()
    write(project, {name: text for name, text in files.items() if not name.endswith("/")})
    assert _findings(list(paths)) == [finding]


def test_no_project_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without PATH and without ./hsprefs.yaml: one finding that says what to do."""
    monkeypatch.chdir(tmp_path)
    assert _findings() == [
        "hsprefs.yaml:1:1: error: no hsprefs.yaml in the current folder; run hsprefs in the "
        "config repository or give a PATH"
    ]


def test_a_folder_means_its_project_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder PATH means the hsprefs.yaml inside it."""
    write(project, {"subscribers/a.yaml": ONE.format(email="a@example.com")})
    monkeypatch.chdir(project.parent)
    assert _emails([project.name]) == ["a@example.com"]


def test_a_subscriber_file_alone_uses_the_nearest_project(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscriber file alone is checked against the nearest hsprefs.yaml; only it is read."""
    write(
        project,
        {
            "subscribers/a.yaml": ONE.format(email="a@example.com"),
            "subscribers/b.yaml": ONE.format(email="b@example.com"),
        },
    )
    monkeypatch.chdir(project / "subscribers")
    assert _emails(["b.yaml"]) == ["b@example.com"]
    state, _ = check(["b.yaml"], today=TODAY)
    assert state is not None
    # Outside the current folder, a path is shown absolute.
    assert state.files == ((project / "hsprefs.yaml").as_posix(), "b.yaml")


def test_a_subscriber_file_without_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A subscriber file with no hsprefs.yaml above it is a finding."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"lonely.yaml": ONE.format(email="a@example.com")})
    assert _findings(["lonely.yaml"]) == [
        "lonely.yaml:1:1: error: no hsprefs.yaml in its folder or any parent; a subscriber file "
        "is validated against the project that includes it"
    ]


def test_overlapping_patterns_read_a_file_once(project: Path) -> None:
    """A file matched by two patterns is read once (no self-conflict)."""
    project_file = NEWSLETTER_PROJECT + "include: ['subscribers/*.yaml', 'subscribers/a.*']\n"
    write(project, {"hsprefs.yaml": project_file, **_one("a@example.com")})
    state, findings = check(today=TODAY)
    assert findings == []
    assert state is not None
    assert state.files == ("hsprefs.yaml", "subscribers/a.yaml")


def test_a_file_linked_from_outside_the_project(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An included file that is a symbolic link leading outside the project is refused."""
    outside = tmp_path_factory.mktemp("outside") / "x.yaml"
    outside.write_text(ONE.format(email="x@example.com"))
    (project / "subscribers").mkdir()
    (project / "subscribers" / "x.yaml").symlink_to(outside)
    assert _findings() == [
        "hsprefs.yaml:7:11: error: include 'subscribers/*.yaml': subscribers/x.yaml lies outside "
        "the project folder (through a symbolic link); move it inside"
    ]


def test_symlink_loop_among_the_included_files(project: Path) -> None:
    """Two links pointing at each other are reported at the include pattern, not skipped."""
    (project / "subscribers").mkdir()
    (project / "subscribers" / "a.yaml").symlink_to("b.yaml")
    (project / "subscribers" / "b.yaml").symlink_to("a.yaml")
    where = "hsprefs.yaml:7:11: error: include 'subscribers/*.yaml'"
    assert _findings() == [
        f"{where}: subscribers/a.yaml: it is a symbolic link loop; fix the link or remove it",
        f"{where}: subscribers/b.yaml: it is a symbolic link loop; fix the link or remove it",
    ]


def test_a_fifo_or_device_matched_by_a_pattern_is_reported(project: Path) -> None:
    """A FIFO or a link to /dev/zero behind a pattern is a finding, never read nor skipped."""
    import os

    (project / "subscribers").mkdir()
    os.mkfifo(project / "subscribers" / "pipe.yaml")
    (project / "subscribers" / "zero.yaml").symlink_to("/dev/zero")
    where = "hsprefs.yaml:7:11: error: include 'subscribers/*.yaml'"
    assert _findings() == [
        f"{where}: subscribers/pipe.yaml: this is not a regular file (a FIFO, a device or a "
        "socket); remove it",
        f"{where}: subscribers/zero.yaml: this is not a regular file (a FIFO, a device or a "
        "socket); remove it",
    ]


def test_symlinked_folder_loop_under_double_star(project: Path) -> None:
    """A folder link back to its parent does not make '**' loop; the real files are read."""
    project_file = NEWSLETTER_PROJECT + "include: ['people/**/*.yaml']\n"
    write(project, {"hsprefs.yaml": project_file, **_one("a@example.com", folder="people")})
    (project / "people" / "loop").symlink_to("..")
    assert _emails() == ["a@example.com"]


def test_symlink_loop_given_as_path(project: Path) -> None:
    """A PATH that is a symbolic link loop is one clear finding."""
    (project / "loop.yaml").symlink_to("loop.yaml")
    assert _findings(["loop.yaml"]) == [
        "loop.yaml:1:1: error: it is a symbolic link loop; fix the link or remove it"
    ]


def test_thousands_of_files(project: Path) -> None:
    """More than 1,000 included files is one finding at the pattern, not a slow crawl."""
    many = project / "subscribers"
    many.mkdir()
    for index in range(1500):
        (many / f"f{index:04d}.yaml").write_bytes(b"version: 1\n")
    assert _findings() == [
        "hsprefs.yaml:7:11: error: include 'subscribers/*.yaml': with the patterns before it, it "
        "makes the project include more than 1,000 files, the most a project may include; "
        "merge small files"
    ]


def test_a_file_over_the_size_limit(project: Path) -> None:
    """A file larger than 32 MB is refused before it is read."""
    write(project, {"subscribers/a.yaml": "version: 1\n"})
    with (project / "subscribers" / "a.yaml").open("ab") as handle:
        handle.truncate(33 * 1024 * 1024)
    assert _findings() == [
        "subscribers/a.yaml:1:1: error: the file is 33.0 MB; a file may be at most 32 MB "
        "(split it into several files)"
    ]


DENIED = (
    "cannot list this folder: permission denied; give the user running hsprefs read access to it"
)


def _deny_listing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """os.scandir raises PermissionError for folders called ``name`` (tests run as root,
    for whom chmod 000 changes nothing)."""
    import os

    from reconciler.config import _files

    real = os.scandir

    def scandir(path: Any) -> Any:
        if os.path.basename(os.fspath(path)) == name:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(_files.os, "scandir", scandir)


@pytest.mark.parametrize(
    ("files", "denied", "finding"),
    [
        pytest.param(
            {
                "hsprefs.yaml": NEWSLETTER_PROJECT + "include: ['subscribers/**/*.yaml']\n",
                **_one("a@example.com"),
                **_one("b@example.com", folder="subscribers/secret"),
            },
            "secret",
            "hsprefs.yaml:3:11: error: include 'subscribers/**/*.yaml': subscribers/secret: "
            + DENIED,
            id="a-folder-under-double-star-is-named-never-skipped",
        ),
        pytest.param(
            _one("a@example.com"),
            "subscribers",
            f"hsprefs.yaml:7:11: error: include 'subscribers/*.yaml': subscribers: {DENIED}",
            id="the-included-folder-itself-is-named-not-empty",
        ),
        pytest.param(
            {"hsprefs.yaml": "version: 1\ninclude: ['**/*.yaml']\n"},
            None,
            f"hsprefs.yaml:2:11: error: include '**/*.yaml': .: {DENIED}",
            id="the-project-folder-under-a-leading-double-star",
        ),
    ],
)
def test_a_folder_that_cannot_be_listed_is_a_finding(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    denied: str | None,
    finding: str,
) -> None:
    """A folder an include pattern cannot list (None: the project's) is named, with advice."""
    write(project, files)
    _deny_listing(monkeypatch, denied or project.name)
    assert _findings() == [finding]


def test_a_folder_that_cannot_be_opened_is_a_finding(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder named in the pattern that cannot even be looked at is a finding, not absent."""
    write(
        project,
        {
            "hsprefs.yaml": "version: 1\ninclude: ['people/team/*.yaml']\n",
            "people/team/a.yaml": "version: 1\n",
        },
    )
    real = Path.stat

    def stat(self: Path, **kw: Any) -> Any:
        if self.name == "team":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, **kw)

    monkeypatch.setattr(Path, "stat", stat)
    assert _findings() == [
        "hsprefs.yaml:2:11: error: include 'people/team/*.yaml': people/team: cannot open this "
        "folder: permission denied; give the user running hsprefs read access to it"
    ]


def test_an_entry_whose_kind_cannot_be_read_is_a_finding(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listed entry that cannot be told to be a folder is a finding, not skipped."""
    import os

    from reconciler.config import _files

    write(
        project,
        {
            "hsprefs.yaml": "version: 1\ninclude: ['people/*/*.yaml']\n",
            "people/team/a.yaml": "version: 1\n",
        },
    )
    real = os.scandir

    class Entry:
        def __init__(self, entry: os.DirEntry[str]) -> None:
            self.name, self.path = entry.name, entry.path

        def is_dir(self, *, follow_symlinks: bool = True) -> bool:
            raise PermissionError(13, "Permission denied", self.path)

    class Listing:
        def __init__(self, path: Any) -> None:
            self.inner = real(path)

        def __enter__(self) -> list[Entry]:
            with self.inner as entries:
                return [Entry(e) for e in entries]

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(_files.os, "scandir", Listing)
    assert _findings() == [
        "hsprefs.yaml:2:11: error: include 'people/*/*.yaml': people/team: cannot open it: "
        "permission denied; give the user running hsprefs read access to it"
    ]


def test_an_unreadable_file_is_a_finding(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An included file that cannot be opened is named with what to do."""
    write(project, {"subscribers/a.yaml": ONE.format(email="a@example.com")})
    real = os.open

    def open_(path: Any, *args: Any, **kw: Any) -> Any:
        # Root reads any file, so the refusal is simulated where the loader opens it.
        if Path(path).name == "a.yaml":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kw)

    monkeypatch.setattr(os, "open", open_)
    assert _findings() == [
        "subscribers/a.yaml:1:1: error: cannot read it: permission denied; give the user "
        "running hsprefs read access to it"
    ]


def _bad_name(folder: Path, name: bytes, text: str) -> Path:
    """Create a file whose name is the raw bytes ``name`` (not UTF-8) in ``folder``."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    raw = os.path.join(os.fsencode(folder), name)
    with open(raw, "wb") as handle:
        handle.write(text.encode())
    return Path(os.fsdecode(raw))


def test_an_included_file_whose_name_is_not_utf8(project: Path) -> None:
    """A matched file name with non-UTF-8 bytes is named, escaped, with 'rename it'."""
    write(project, {"subscribers/a.yaml": ONE.format(email="a@example.com")})
    _bad_name(project / "subscribers", b"c\xe9.yaml", ONE.format(email="c@example.com"))
    assert _findings() == [
        "hsprefs.yaml:7:11: error: include 'subscribers/*.yaml': subscribers/c\\xe9.yaml: its "
        "name is not valid UTF-8; rename it"
    ]


def test_a_folder_whose_name_is_not_utf8(project: Path) -> None:
    """Files below a folder whose name is not UTF-8 are refused the same way."""
    write(project, {"hsprefs.yaml": "version: 1\ninclude: ['**/*.yaml']\n"})
    import os

    os.mkdir(os.path.join(os.fsencode(project), b"t\xffm"))
    _bad_name(Path(os.fsdecode(os.path.join(os.fsencode(project), b"t\xffm"))), b"a.yaml", "x: 1")
    assert _findings() == [
        "hsprefs.yaml:2:11: error: include '**/*.yaml': t\\xffm/a.yaml: its name is not valid "
        "UTF-8; rename it"
    ]


def test_a_path_whose_name_is_not_utf8(project: Path) -> None:
    """A PATH with non-UTF-8 bytes is one finding with the bytes escaped."""
    path = _bad_name(project / "subscribers", b"c\xe9.yaml", ONE.format(email="c@example.com"))
    assert _findings([path.relative_to(project)]) == [
        "subscribers/c\\xe9.yaml:1:1: error: its name is not valid UTF-8; rename it"
    ]
