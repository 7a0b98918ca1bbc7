"""Regenerate tests/data/run_loop_golden.json: python tests/data/make_run_loop_golden.py OLD_TREE OUT.json (OLD_TREE: a `git archive` of the commit whose results are the reference)."""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import simulator.run as R
print("using", R.__file__, file=sys.stderr)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from run_loop_cases import CASES, fingerprint  # noqa
out = {}
for case_id, (file, overrides, seed) in CASES.items():
    t = time.perf_counter()
    out[case_id] = fingerprint(Path(sys.argv[1]) / file, overrides, seed)
    print(case_id, f"{time.perf_counter()-t:.2f}s", out[case_id]["status"], out[case_id]["events"], file=sys.stderr)
Path(sys.argv[2]).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
