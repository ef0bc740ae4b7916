"""The demo behind `make demo`: the main job of hsprefs, end to end, against the local
emulator seeded from examples/emulator-seed.yaml.

validate -> plan (saved) -> apply the saved plan -> plan again (no changes) -> the
journal -> an audit report. Every run starts from a fresh emulator database, so the demo
can be repeated. Output goes to the terminal; files go under .hsprefs/demo/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".hsprefs" / "demo"


def step(title: str, args: list[str], env: dict[str, str], expect: tuple[int, ...] = (0,)) -> None:
    print(f"\n=== {title}\n$ hsprefs {' '.join(args)}", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args], env=env, cwd=ROOT, check=False
    )
    if done.returncode not in expect:
        raise SystemExit(f"demo: 'hsprefs {' '.join(args)}' exited {done.returncode}")


def start_emulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    args = [
        sys.executable, "-m", "reconciler", "emulator", "serve",
        "--port", "0",
        "--db", str(WORK / "emulator.sqlite3"),
        "--seed", str(ROOT / "examples" / "emulator-seed.yaml"),
    ]  # fmt: skip
    log = (WORK / "emulator.log").open("w")  # the server's own log, kept out of the story
    server = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=ROOT
    )
    found: dict[str, str] = {}
    assert server.stdout is not None
    while len(found) < 2:
        line = server.stdout.readline()
        if not line:
            raise SystemExit("demo: the emulator stopped before it printed its address")
        key, _, value = line.strip().partition("=")
        if key in ("HSPREFS_API_URL", "HUBSPOT_ACCESS_TOKEN"):
            found[key] = value
    return server, found


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = dict(os.environ)
    env.pop("HUBSPOT_ACCESS_TOKEN", None)
    server, found = start_emulator(env)
    env.update(found)
    print(
        f"Emulator running at {found['HSPREFS_API_URL']} (seeded from examples/emulator-seed.yaml)"
    )
    plan_file = str((WORK / "plan.json").relative_to(ROOT))
    journal = str((WORK / "journal.jsonl").relative_to(ROOT))
    try:
        step("1. Validate the config", ["validate", "examples/"], env)
        step(
            "2. Plan: what would change (saved for review)",
            ["plan", "examples/", "-o", plan_file],
            env,
        )
        step(
            "3. Apply the reviewed plan", ["apply", "--plan", plan_file, "--journal", journal], env
        )
        step(
            "4. Plan again: nothing left to do (the blocked pair stays blocked)",
            ["plan", "examples/", "--detailed-exitcode"],
            env,
        )
        print("\n=== 5. The journal: one line per input sent", flush=True)
        for line in (ROOT / journal).read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            what = entry["subscription"] or "all email"
            print(
                f"{entry['time']}  {entry['operation']:<15} {entry['subscriber']:<20} "
                f"brand {entry['brand']} {what:<15} {entry['before']} -> {entry['after']}  "
                f"{entry['outcome']} ({entry['result'] or entry['error']})"
            )
        audit_file = str((WORK / "audit.html").relative_to(ROOT))
        step(
            "6. Audit: a read-only drift report (exit 2: the blocked pair is drift)",
            ["audit", "examples/"],
            env,
            expect=(0, 2),
        )
        step(
            "   ...and as one HTML file for compliance",
            ["audit", "examples/", "--format", "html", "-o", audit_file],
            env,
            expect=(0, 2),
        )
        print(f"\nDone. Plan, journal and audit report are in {WORK.relative_to(ROOT)}/")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
