"""Write docs/reference.md from the code (simulator.reference): every world, its fields, every policy.

    .venv/bin/python scripts/make_reference.py          # rewrite docs/reference.md
    .venv/bin/python scripts/make_reference.py --check  # exit 1 if docs/reference.md is stale

tests/test_reference.py fails when the committed file differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.reference import reference_markdown  # noqa: E402  (after the path is set)

TARGET = ROOT / "docs" / "reference.md"


def main(argv: list[str]) -> int:
    text = reference_markdown()
    if "--check" in argv:
        if not TARGET.is_file() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run .venv/bin/python scripts/make_reference.py", file=sys.stderr)
            return 1
        print(f"{TARGET.relative_to(ROOT)} is up to date")
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(text):,} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
