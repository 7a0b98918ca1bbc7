"""Write games/kuhn_poker.efg and games/leduc_poker.efg from mechanisms.poker (Gambit .efg format).

    .venv/bin/python scripts/make_poker_games.py [OUT_DIR]     # default: games/

tests/mechanisms/test_game_tree_poker.py checks that the shipped files equal what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mechanisms import efg_format, poker

COMMENTS = {
    "kuhn_poker": "Kuhn (1950): deck J < Q < K, ante 1, bet 1; value -1/18 for Player 1. Written by scripts/make_poker_games.py.",
    "leduc_poker": "Leduc hold'em (Southey et al. 2005), OpenSpiel's rules: 6 cards, raises 2 then 4, at most 2 per round. "
                   "Written by scripts/make_poker_games.py.",
}


def texts() -> dict[str, str]:
    """File name -> .efg text for each shipped poker game."""
    return {
        "kuhn_poker.efg": efg_format.write_efg(poker.kuhn_poker(), comment=COMMENTS["kuhn_poker"]),
        "leduc_poker.efg": efg_format.write_efg(poker.leduc_poker(), comment=COMMENTS["leduc_poker"]),
    }


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "games"
    for name, text in texts().items():
        (out / name).write_text(text)
        print(f"wrote {out / name} ({len(text.splitlines())} lines)")


if __name__ == "__main__":
    main()
