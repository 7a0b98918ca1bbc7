"""The bad-input corpus: invocations of ``agora`` that must each end in one error line and exit status 2.

A case is the argument list after ``agora`` and a piece of the one line it
must print (so a case fails if it errs for the wrong reason). Placeholders:
``{cases}`` is ``tests/badinput/cases`` (files kept in git, one thing wrong
with each), ``{gen}`` a folder of files ``generate`` writes for each test run
(binary, wrongly encoded, huge, a FIFO, a symlink loop), ``{repo}`` the
repository (its shipped, valid scenarios and games), ``{tmp}`` the case's
scratch folder.
"""

from __future__ import annotations

import codecs
import os
import random
from dataclasses import dataclass
from pathlib import Path

CASES_DIR = Path(__file__).parent / "cases"
GOOD_SCENARIO = "{repo}/scenarios/prisoners_dilemma.yaml"
GOOD_SWEEP = "{repo}/scenarios/sweep_matrix_game.yaml"
GOOD_GAME = "{repo}/games/battle_of_the_sexes.yaml"
THREE_PLAYERS = "{repo}/games/public_goods_3.yaml"
TREE_GAME = "{repo}/games/entry_deterrence.yaml"
FILE_COMMANDS = ("validate", "run", "solve", "sweep")  # the commands that read one YAML/JSON file


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: str  # a substring of the one line printed


# --------------------------------------------------------------------------- files that are bad as YAML/JSON (any command)

YAML_FILES = {
    "alias_bomb.yaml": "alias_bomb.yaml:6:5: expands to more than 50,000 nodes",
    "alias_bomb_in_world.yaml": "expands to more than 50,000 nodes",
    "alias_bomb_wide.yaml": "expands to more than 50,000 nodes",
    "alias_bomb_seq.yaml": "expands to more than 50,000 nodes",
    "alias_recursive.yaml": "an alias refers to the node that contains it",
    "alias_recursive_list.yaml": "an alias refers to the node that contains it",
    "alias_undefined.yaml": "found undefined alias 'nowhere'",
    "anchor_duplicate.yaml": ":2:4: duplicate anchor",
    "deep_flow.yaml": "nested too deeply (more than 100 levels)",
    "deep_flow_mapping.yaml": "nested too deeply (more than 100 levels)",
    "deep_block.yaml": "nested too deeply (more than 100 levels)",
    "deep_alias.yaml": "expands to more than 100 levels of nesting",
    "duplicate_world.yaml": ":9:1: duplicate key 'world' (first at line 1); allowed: each key once per mapping",
    "duplicate_nested.yaml": ":6:3: duplicate key 'rounds' (first at line 5)",
    "duplicate_flow.yaml": "duplicate key 'type'",
    "duplicate_json.json": ":3:2: duplicate key 'seed' (first at line 2)",
    "duplicate_bool_int.yaml": "duplicate key True",
    "nan.yaml": ":6:17: '.nan' is not a finite number; allowed: finite numbers",
    "nan_upper.yaml": "'.NaN' is not a finite number",
    "inf.yaml": "'.inf' is not a finite number",
    "neg_inf.yaml": "'-.inf' is not a finite number",
    "float_overflow.yaml": "'1.0e+999' is not a finite number",
    "nan_in_list.yaml": ":8:49: '.nan' is not a finite number",
    "huge_int.yaml": ":1:7: integer 100000000000000000000... is too large; allowed: at most 64 bits",
    "huge_int_digits.yaml": "is too large; allowed: at most 64 bits",
    "huge_int_hex.yaml": "integer 0xfffffffffffffffffff... is too large",
    "huge_negative_int.yaml": "integer -99999999999999999999999 is too large",
    "multi_document.yaml": "expected a single document",
    "bad_indent.yaml": ":3:2: invalid YAML",
    "unclosed_quote.yaml": "while scanning a quoted scalar",
    "unclosed_flow.yaml": "while parsing a flow sequence",
    "tab_indent.yaml": ":2:1: invalid YAML: found character that cannot start any token",
    "python_tag.yaml": "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    "python_name_tag.yaml": "could not determine a constructor",
    "unknown_tag.yaml": "could not determine a constructor for the tag '!custom'",
    "bad_escape.yaml": "found unknown escape character",
    "bad_binary_tag.yaml": "failed to decode base64 data",
    "merge_not_mapping.yaml": "expected a mapping or list of mappings for merging",
    "unhashable_key.yaml": "found unhashable key",
    "mapping_in_scalar.yaml": "mapping values are not allowed",
    "top_list.yaml": "must be a mapping",
    "top_scalar.yaml": "must be a mapping",
    "top_number.json": "must be a mapping",
    "top_null.yaml": "must be a mapping",
    "empty.yaml": "must be a mapping",
    "comments_only.yaml": "must be a mapping",
    "whitespace_only.yaml": "must be a mapping",
    "json_top_list.json": "must be a mapping",
    "json_unclosed.json": "while parsing a flow mapping",
    "directive_bad.yaml": "found incompatible YAML document",
}

EVERY_COMMAND = {"alias_bomb.yaml", "deep_flow.yaml", "deep_block.yaml", "duplicate_world.yaml", "nan.yaml", "huge_int.yaml",
                 "empty.yaml", "top_list.yaml"}

# --------------------------------------------------------------------------- files generated per run (binary, encodings, special files)

BASE = "name: café\nworld:\n  type: matrix_game\n  game: prisoners_dilemma\n  players: [alice, bob]\nagents:\n  alice: tit_for_tat\n"

GENERATED = {
    "binary.yaml": ":1:1: binary data (a NUL byte); allowed: UTF-8 text",
    "random_bytes.bin": "not UTF-8 text (byte 0x",
    "latin1.yaml": ":1:10: not UTF-8 text (byte 0xe9); allowed: UTF-8",
    "cp1252.yaml": "not UTF-8 text (byte 0x93)",
    "utf16.yaml": "the file is UTF-16 text; allowed: UTF-8",
    "utf16be.yaml": "the file is UTF-16 text",
    "utf16_no_bom.yaml": "binary data (a NUL byte)",
    "utf32.yaml": "the file is UTF-32 text",
    "nul_in_middle.yaml": ":3:8: binary data (a NUL byte)",
    "control_char.yaml": ":1:8: control character #x0001 is not allowed",
    "bom_then_duplicate.yaml": ":3:1: duplicate key 'seed'",
    "huge.yaml": "file is larger than 1,048,576 bytes",
    "many_nodes.yaml": "more than 50,000 nodes",
    "fifo.yaml": "is a FIFO (named pipe), not a file",
    "a_directory.yaml": "is a directory, not a file",
    "missing.yaml": "cannot read file: No such file or directory",
    "dangling_link.yaml": "cannot read file: No such file or directory",
    "link_loop.yaml": "cannot read file: Too many levels of symbolic links",
    "/dev/zero": "/dev/zero: is a device, not a file",
    "/dev/null": "/dev/null: is a device, not a file",
}


def generate(folder: Path) -> None:
    """Write the generated inputs (``GENERATED``) into ``folder``."""
    text = BASE
    (folder / "binary.yaml").write_bytes(bytes(range(256)) * 8)
    rng = random.Random(13)
    (folder / "random_bytes.bin").write_bytes(bytes(rng.randrange(1, 256) for _ in range(4096)))
    (folder / "latin1.yaml").write_bytes(text.encode("latin-1"))
    (folder / "cp1252.yaml").write_bytes(("description: \u201cquoted\u201d\n" + text.replace("café", "cafe")).encode("cp1252"))
    (folder / "utf16.yaml").write_bytes(text.encode("utf-16"))
    (folder / "utf16be.yaml").write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    (folder / "utf16_no_bom.yaml").write_bytes(text.encode("utf-16-le"))
    (folder / "utf32.yaml").write_bytes(text.encode("utf-32"))
    (folder / "nul_in_middle.yaml").write_bytes(text.replace("café", "cafe").encode().replace(b"  type:", b"  type:\x00", 1))
    (folder / "control_char.yaml").write_bytes(b"name: a\x01b\n" + text.replace("name: café\n", "").encode())
    (folder / "bom_then_duplicate.yaml").write_bytes(codecs.BOM_UTF8 + b"seed: 1\nname: x\nseed: 2\n" + text.encode())
    (folder / "huge.yaml").write_bytes(b"# padding\n" * 110_000 + text.encode())
    (folder / "many_nodes.yaml").write_text("world: [" + "0," * 300_000 + "0]\n")
    os.mkfifo(folder / "fifo.yaml")
    (folder / "a_directory.yaml").mkdir()
    os.symlink(folder / "nowhere.yaml", folder / "dangling_link.yaml")
    os.symlink(folder / "link_loop.yaml", folder / "link_loop.yaml")


def _path(name: str) -> str:
    return name if name.startswith("/") else "{gen}/" + name


# --------------------------------------------------------------------------- scenario files with one wrong field (validate, run)

SCENARIO_FILES = {
    "missing_world.yaml": "world: required field is missing",
    "unknown_world.yaml": "unknown world 'not_a_world'; allowed:",
    "world_type_missing.yaml": "world.type: required field is missing; allowed:",
    "typo_top_field.yaml": "seeed: unknown field; allowed:",
    "typo_world_field.yaml": "world.roundz: unknown field",
    "seed_negative.yaml": "seed: Input should be greater than or equal to 0",
    "seed_2_pow_64.yaml": "integer 18446744073709551616 is too large",
    "seed_2_pow_63.yaml": "seed: Input should be less than or equal to 9223372036854775807",
    "seed_string.yaml": "seed: Input should be a valid integer",
    "seed_float.yaml": "seed: Input should be a valid integer",
    "seed_list.yaml": "seed: Input should be a valid integer",
    "world_list.yaml": "world: Input should be a valid dictionary",
    "world_scalar.yaml": "world: Input should be a valid dictionary",
    "agents_list.yaml": "agents: Input should be a valid dictionary",
    "unknown_policy.yaml": "unknown policy 'always_deflect' for world 'matrix_game'; allowed:",
    "policy_wrong_world.yaml": "unknown policy 'free_rider' for world 'matrix_game'",
    "policy_number.yaml": "agents.bob: Input should be a mapping with keys policy (string, required), params (mapping[string, any], default {}) or a valid string (got 42)",
    "params_unknown.yaml": "agents.bob.params.forgiveness: unknown field",
    "params_not_mapping.yaml": "agents.bob.params: Input should be a valid dictionary",
    "mixed_nan_strings.yaml": "agents.bob.params.probabilities.0: Input should be a finite number",
    "mixed_inf_string.yaml": "agents.bob.params.probabilities.0: Input should be a finite number",
    "mixed_sum.yaml": "probabilities must be finite, non-negative and sum to 1",
    "mixed_negative.yaml": "probabilities must be finite, non-negative and sum to 1",
    "mixed_empty.yaml": "probabilities must be finite, non-negative and sum to 1",
    "mixed_strings.yaml": "agents.bob.params.probabilities.0: Input should be a valid number",
    "mixed_missing.yaml": "agents.bob.params.probabilities: required field is missing",
    "rounds_negative.yaml": "world.rounds: Input should be greater than or equal to 1 (got -5)",
    "rounds_string.yaml": "world.rounds: Input should be a valid integer",
    "rounds_float.yaml": "world.rounds: Input should be a valid integer",
    "continuation_nan_string.yaml": "world.continuation:",
    "continuation_too_big.yaml": "world.continuation:",
    "unknown_game.yaml": "world.game: Input should be 'prisoners_dilemma'",
    "players_not_list.yaml": "world.players: Input should be a valid list",
    "max_time_negative.yaml": "run.max_time: Input should be greater than 0",
    "max_time_inf_string.yaml": "run.max_time: not a finite number; allowed: finite numbers",
    "record_events_bad.yaml": "run.record_events: Input should be a valid boolean",
    "run_unknown_key.yaml": "run.max_tim: unknown field; allowed: max_time, record_events (did you mean 'max_time'?)",
    "description_list.yaml": "description: Input should be a valid string",
    "name_mapping.yaml": "name: Input should be a valid string",
    "llm_base_url_not_url.yaml": "llm.base_url: Value error, not an http(s) URL; allowed: http:// or https://",
    "llm_base_url_ftp.yaml": "llm.base_url: Value error, not an http(s) URL",
    "llm_base_url_no_host.yaml": "llm.base_url: Value error, not an http(s) URL",
    "llm_base_url_bad_port.yaml": "llm.base_url: Value error, not a valid URL",
    "llm_unknown_field.yaml": "llm.modle: unknown field",
    "llm_temperature_nan.yaml": "llm.temperature:",
    "llm_cache_bad.yaml": "llm.cache: Input should be 'record', 'replay' or 'off'",
    "llm_not_mapping.yaml": "llm: expected a mapping; allowed keys: base_url (string, default \"http://127.0.0.1:8080/v1\"), provider (string, default \"openai\"), model (string",
    "public_goods_bad_multiplier.yaml": "world.multiplier:",
    "social_learning_unknown.yaml": "world.agentz: unknown field",
    "off_switch_unknown.yaml": "world.bogus_field: unknown field",
}

# --------------------------------------------------------------------------- game files (solve)

GAME_FILES = {
    "a_ragged.yaml": "A: must be a non-empty matrix",
    "a_empty.yaml": "A: must be a non-empty matrix",
    "a_not_list.yaml": "A: Input should be a valid list",
    "a_word.yaml": "'abc' is not a number or fraction",
    "a_nan.yaml": ":1:6: '.nan' is not a finite number",
    "a_inf.yaml": "'.inf' is not a finite number",
    "a_nan_string.yaml": "'nan' is not a number or fraction",
    "a_inf_string.yaml": "'-inf' is not a number or fraction",
    "a_div_zero.yaml": "'1/0' is not a number or fraction",
    "a_huge_string.yaml": "'1e400' is not a number or fraction",
    "a_huge_int.yaml": "is too large; allowed: at most 64 bits",
    "b_shape.yaml": "B has shape 2x3 but A has 2x2",
    "b_without_a.yaml": "give exactly one of A (+ B), payoffs, tree; got none",
    "a_and_tree.yaml": "give exactly one of A (+ B), payoffs, tree; got A and tree",
    "nothing.yaml": "give exactly one of A (+ B), payoffs, tree; got none",
    "unknown_field.yaml": "C: unknown field",
    "players_mismatch.yaml": "players: the game has 2 players; 3 names given",
    "actions_mismatch.yaml": "actions: need 2 lists of action labels",
    "payoffs_irregular.yaml": "payoffs: must be regular nested lists",
    "payoffs_leaf_size.yaml": "an n-player table needs n nested levels",
    "payoffs_scalar.yaml": "payoffs: Input should be a valid list",
    "tree_both.yaml": "not both",
    "tree_unknown_player.yaml": "tree.player: unknown player 'zed'; allowed: a, b",
    "tree_payoff_count.yaml": "has 3 payoffs; the game has 2 players",
    "tree_unknown_field.yaml": "tree.kids: unknown field",
    "tree_nan.yaml": "'.nan' is not a finite number",
    "tree_deep.yaml": "nested too deeply (more than 100 levels)",
    "json_nan.json": "'NaN' is not a number or fraction",
    "json_infinity.json": "'Infinity' is not a number or fraction",
    "json_duplicate.json": "duplicate key 'A'",
    "name_list.yaml": "name: Input should be a valid string",
    "bad_header.nfg": "bad_header.nfg:1:1:",
    "truncated.nfg": "truncated.nfg:",
}

# --------------------------------------------------------------------------- sweep files (sweep)

SWEEP_FILES = {
    "no_sweep_block.yaml": "this scenario has no 'sweep:' block",
    "sweep_list.yaml": "sweep: Input should be a valid dictionary",
    "sweep_scalar.yaml": "sweep: Input should be a valid dictionary",
    "sweep_unknown_key.yaml": "sweep.grdi:",
    "grid_unknown_path.yaml": "world.bogus",
    "grid_not_list.yaml": "sweep.grid.world.rounds:",
    "grid_empty_list.yaml": "world.rounds: give at least one value",
    "grid_bad_value.yaml": "world.rounds=-1 is not allowed",
    "grid_nan_value.yaml": "'.nan' is not a finite number",
    "grid_too_big.yaml": "2000000 points x 1 seeds is more than 1,000,000 cells",
    "grid_mixed_bad.yaml": "probabilities must be finite, non-negative and sum to 1",
    "seeds_zero.yaml": "sweep.seeds:",
    "seeds_negative.yaml": "sweep.seeds:",
    "seeds_string.yaml": "sweep.seeds:",
    "seeds_huge.yaml": "sweep.seeds: Input should be less than or equal to",
    "duplicate_grid_key.yaml": "duplicate key 'world.rounds'",
    "grid_alias_bomb.yaml": "expands to more than 50,000 nodes",
    "grid_deep_path.yaml": "sweep",
}

# --------------------------------------------------------------------------- market data directories (market baselines)

MARKET_DIRS = {
    "no_customers": "missing folder: a data directory needs customers/*.yaml",
    "no_businesses": "missing folder: a data directory needs businesses/*.yaml",
    "empty_customers": "no *.yaml files in",
    "duplicate_key": "customer_0001.yaml:8:1: duplicate key 'name' (first at line 2)",
    "missing_field": "name: required field is missing",
    "negative_price": "prices must be finite numbers >= 0",
    "nan_price": "'.nan' is not a finite number",
    "nan_string_price": "prices must be finite numbers >= 0",
    "duplicate_id": "duplicate id 'customer_0001'",
    "not_mapping": "expected a mapping of fields",
    "alias_bomb": "expands to more than 50,000 nodes",
    "bad_yaml": "business_0001.yaml:2:1: invalid YAML",
    "id_clash": "ids used by both a customer and a business",
    "price_factor_too_big": "min_price_factor:",
}


def generate_markets(folder: Path) -> None:
    """Market directories whose customer file is binary or Latin-1 (generated: not kept as text in git)."""
    business = (CASES_DIR / "markets" / "no_customers" / "businesses" / "business_0001.yaml").read_text()
    for name, data in (("market_binary", bytes(range(256))), ("market_latin1", "name: Zoë\n".encode("latin-1"))):
        (folder / name / "customers").mkdir(parents=True)
        (folder / name / "businesses").mkdir()
        (folder / name / "customers" / "customer_0001.yaml").write_bytes(data)
        (folder / name / "businesses" / "business_0001.yaml").write_text(business)


# --------------------------------------------------------------------------- invocations with bad options or arguments

BOMB_VALUE = "[" + ", ".join(["&a0 [x, x, x, x, x, x, x, x, x]"] + [f"&a{i} [{', '.join([f'*a{i-1}'] * 9)}]" for i in range(1, 9)]) + "]"

INVOCATIONS: list[tuple[str, tuple[str, ...], str]] = [
    # run: options
    ("run-seed-negative", ("run", GOOD_SCENARIO, "--seed", "-1"), "Invalid value for '--seed': Input should be greater than or equal to 0"),
    ("run-seed-2-pow-64", ("run", GOOD_SCENARIO, "--seed", str(2**64)), "Input should be less than or equal to 9223372036854775807"),
    ("run-seed-10-pow-30", ("run", GOOD_SCENARIO, "--seed", str(10**30)), "--seed"),
    ("run-seed-word", ("run", GOOD_SCENARIO, "--seed", "abc"), "--seed"),
    ("run-seed-float", ("run", GOOD_SCENARIO, "--seed", "1.5"), "--seed"),
    ("run-llm-cache-bad", ("run", GOOD_SCENARIO, "--llm-cache", "sometimes"), "allowed: record, replay, off"),
    ("run-unknown-option", ("run", GOOD_SCENARIO, "--bogus"), "No such option"),
    ("run-no-file", ("run",), "Missing argument"),
    ("run-two-files", ("run", GOOD_SCENARIO, GOOD_SCENARIO), "unexpected extra argument"),
    ("unknown-command", ("bogus",), "No such command 'bogus'"),
    # run: --set
    ("set-no-equals", ("run", GOOD_SCENARIO, "--set", "world.rounds"), "expected key=value"),
    ("set-empty-key", ("run", GOOD_SCENARIO, "--set", "=5"), "expected key=value"),
    ("set-blank-key", ("run", GOOD_SCENARIO, "--set", "  =5"), "expected key=value"),
    ("set-double-dot", ("run", GOOD_SCENARIO, "--set", "world..rounds=1"), "empty or space-padded part in the dotted path"),
    ("set-leading-dot", ("run", GOOD_SCENARIO, "--set", ".world=1"), "empty or space-padded part"),
    ("set-trailing-dot", ("run", GOOD_SCENARIO, "--set", "world.=1"), "empty or space-padded part"),
    ("set-deep-path", ("run", GOOD_SCENARIO, "--set", ".".join(["a"] * 150) + "=1"), "path has 150 parts; allowed: at most 100"),
    ("set-too-long", ("run", GOOD_SCENARIO, "--set", "description=" + "x" * 70_000), "allowed: at most 65,536"),
    ("set-bad-yaml", ("run", GOOD_SCENARIO, "--set", "world.players=[alice, bob"), "--set: world.players: value: invalid YAML"),
    ("set-alias-bomb", ("run", GOOD_SCENARIO, "--set", "description=" + BOMB_VALUE), "value: expands to more than 50,000 nodes"),
    ("set-alias-recursive", ("run", GOOD_SCENARIO, "--set", "description=&a [*a]"), "an alias refers to the node that contains it"),
    ("set-deep-value", ("run", GOOD_SCENARIO, "--set", "description=" + "[" * 200 + "]" * 200), "nested too deeply (more than 100 levels)"),
    ("set-nan", ("run", GOOD_SCENARIO, "--set", "world.continuation=.nan"), "'.nan' is not a finite number"),
    ("set-inf", ("run", GOOD_SCENARIO, "--set", "world.continuation=.inf"), "'.inf' is not a finite number"),
    ("set-nan-string", ("run", GOOD_SCENARIO, "--set", "world.continuation=nan"), "world.continuation:"),
    ("set-duplicate-key", ("run", GOOD_SCENARIO, "--set", "world={type: matrix_game, type: public_goods}"), "duplicate key 'type'"),
    ("set-huge-int", ("run", GOOD_SCENARIO, "--set", "world.rounds=99999999999999999999999"), "is too large; allowed: at most 64 bits"),
    ("set-seed-2-pow-64", ("run", GOOD_SCENARIO, "--set", "seed=18446744073709551616"), "is too large"),
    ("set-seed-negative", ("run", GOOD_SCENARIO, "--set", "seed=-1"), "seed: Input should be greater than or equal to 0"),
    ("set-rounds-negative", ("run", GOOD_SCENARIO, "--set", "world.rounds=-5"), "--set: world.rounds:"),
    ("set-unknown-field", ("run", GOOD_SCENARIO, "--set", "world.roundz=5"), "world.roundz: unknown field"),
    ("set-mixed-nan", ("run", GOOD_SCENARIO, "--set", "agents.bob.params.probabilities=[.nan, .nan]"), "'.nan' is not a finite number"),
    ("set-mixed-nan-strings", ("run", GOOD_SCENARIO, "--set", "agents.bob.params.probabilities=[nan, 1]"), "Input should be a finite number"),
    ("set-base-url", ("run", GOOD_SCENARIO, "--set", "llm.base_url=not a url"), "llm.base_url: Value error, not an http(s) URL"),
    ("set-list-index", ("run", GOOD_SCENARIO, "--set", "world.players.5=carol"), "is a list of 2; '5' is not an index in it"),
    ("set-into-value", ("run", GOOD_SCENARIO, "--set", "world.rounds.x=1"), "world.rounds is a value, not a mapping"),
    ("set-world-list", ("run", GOOD_SCENARIO, "--set", "world=[1, 2]"), "world: Input should be a valid dictionary"),
    ("set-python-tag", ("run", GOOD_SCENARIO, "--set", "description=!!python/object/apply:os.system [id]"), "could not determine a constructor"),
    ("set-two-documents", ("run", GOOD_SCENARIO, "--set", "description=a\n---\nb"), "expected a single document"),
    ("set-control-char", ("run", GOOD_SCENARIO, "--set", "description=a\x01b"), "control character #x0001"),
    # --db
    ("run-db-directory", ("run", GOOD_SCENARIO, "--db", "{tmp}"), "is a directory; allowed: an SQLite file"),
    ("run-db-text-file", ("run", GOOD_SCENARIO, "--db", GOOD_SCENARIO), "file is not a database"),
    ("run-db-binary-file", ("run", GOOD_SCENARIO, "--db", "{gen}/binary.yaml"), "file is not a database"),
    ("run-db-under-a-file", ("run", GOOD_SCENARIO, "--db", GOOD_SCENARIO + "/agora.db"), "--db:"),
    ("run-db-dev-zero", ("run", GOOD_SCENARIO, "--db", "/dev/zero"), "--db: cannot use /dev/zero as the run store"),
    ("runs-list-db-directory", ("runs", "list", "--db", "{tmp}"), "is a directory"),
    ("runs-list-db-text-file", ("runs", "list", "--db", GOOD_SCENARIO), "file is not a database"),
    ("runs-show-db-text-file", ("runs", "show", "abc", "--db", GOOD_SCENARIO), "file is not a database"),
    ("runs-show-missing", ("runs", "show", "doesnotexist"), "no run 'doesnotexist'"),
    ("runs-list-limit-zero", ("runs", "list", "--limit", "0"), "--limit"),
    ("sweep-db-text-file", ("sweep", GOOD_SWEEP, "--db", GOOD_SCENARIO), "file is not a database"),
    ("sweeps-list-db-directory", ("sweeps", "list", "--db", "{tmp}"), "is a directory"),
    ("sweeps-show-missing", ("sweeps", "show", "nosuchsweep"), "no sweep 'nosuchsweep'"),
    ("plot-missing", ("plot", "nosuchid"), "is neither a sweep nor a run"),
    # validate
    ("validate-no-files", ("validate",), "Missing argument"),
    # solve: options
    ("solve-method-unknown", ("solve", GOOD_GAME, "--method", "magic"), "--method 'magic': unknown method; allowed:"),
    ("solve-lam-inf", ("solve", GOOD_GAME, "--method", "logit", "--lam", "inf"), "--lam inf: not a finite number"),
    ("solve-lam-nan", ("solve", GOOD_GAME, "--method", "logit", "--lam", "nan"), "--lam"),
    ("solve-lam-negative", ("solve", GOOD_GAME, "--lam", "-1"), "--lam"),
    ("solve-lam-word", ("solve", GOOD_GAME, "--lam", "strong"), "--lam"),
    ("solve-time-limit-negative", ("solve", GOOD_GAME, "--time-limit", "-1"), "--time-limit"),
    ("solve-time-limit-nan", ("solve", GOOD_GAME, "--time-limit", "nan"), "--time-limit"),
    ("solve-time-limit-inf", ("solve", GOOD_GAME, "--time-limit", "inf"), "--time-limit inf: not a finite number"),
    ("solve-tree-method-on-matrix", ("solve", GOOD_GAME, "--method", "backward-induction"), "needs a sequential game"),
    ("solve-two-player-method-on-three", ("solve", THREE_PLAYERS, "--method", "vertex"), "needs a two-player game; this one has 3 players"),
    ("solve-14x14-time-limit", ("solve", "{gen}/random_14x14.yaml", "--method", "support", "--time-limit", "1"),
     "did not finish within --time-limit 1 s"),
    ("solve-no-file", ("solve",), "Missing argument"),
    # sweep: options
    ("sweep-nothing", ("sweep",), "give a scenario FILE to start a sweep, or --resume SWEEP_ID"),
    ("sweep-file-and-resume", ("sweep", GOOD_SWEEP, "--resume", "abc"), "(not both)"),
    ("sweep-executor-unknown", ("sweep", GOOD_SWEEP, "--executor", "threads"), "--executor 'threads': allowed: process, dask"),
    ("sweep-scheduler-without-dask", ("sweep", GOOD_SWEEP, "--scheduler", "tcp://127.0.0.1:1"), "--scheduler needs --executor dask"),
    ("sweep-set-with-resume", ("sweep", "--resume", "abc", "--set", "world.rounds=2"), "a resumed sweep keeps its scenario"),
    ("sweep-resume-unknown", ("sweep", "--resume", "nosuchsweep"), "no sweep 'nosuchsweep'"),
    ("sweep-workers-zero", ("sweep", GOOD_SWEEP, "--workers", "0"), "--workers"),
    ("sweep-workers-word", ("sweep", GOOD_SWEEP, "--workers", "many"), "--workers"),
    ("sweep-set-bad", ("sweep", GOOD_SWEEP, "--set", "world.rounds"), "expected key=value"),
    ("sweep-set-alias-bomb", ("sweep", GOOD_SWEEP, "--set", "description=" + BOMB_VALUE), "expands to more than 50,000 nodes"),
    ("sweep-set-duplicate", ("sweep", GOOD_SWEEP, "--set", "world={type: a, type: b}"), "duplicate key 'type'"),
    # market
    ("market-generate-into-file", ("market", "generate", GOOD_SCENARIO), "exists and is not a directory"),
    ("market-generate-non-empty", ("market", "generate", "{repo}/scenarios"), "is not empty (use --force"),
    ("market-generate-customers-zero", ("market", "generate", "{tmp}/m", "--customers", "0"), "--customers"),
    ("market-generate-customers-huge", ("market", "generate", "{tmp}/m", "--customers", "1000000000"), "Invalid value for '--customers': Input should be less than or equal to 10000"),
    ("market-generate-businesses-negative", ("market", "generate", "{tmp}/m", "--businesses", "-1"), "--businesses"),
    ("market-generate-domain", ("market", "generate", "{tmp}/m", "--domain", "plumbing"), "unknown domain 'plumbing'; allowed: restaurants, contractors"),
    ("market-generate-seed-negative", ("market", "generate", "{tmp}/m", "--seed", "-1"), "--seed"),
    ("market-generate-seed-word", ("market", "generate", "{tmp}/m", "--seed", "abc"), "--seed"),
    ("market-generate-under-file", ("market", "generate", GOOD_SCENARIO + "/sub"), "cannot write"),
    ("market-baselines-missing", ("market", "baselines", "{tmp}/nowhere"), "not a directory"),
    ("market-baselines-file", ("market", "baselines", GOOD_SCENARIO), "not a directory"),
    ("market-baselines-ties", ("market", "baselines", "{repo}/tests/data/magentic/mexican_10_30", "--ties", "some"), "--ties must be 'lowest' or 'all'"),
    ("market-baselines-fifo-customer", ("market", "baselines", "{gen}/market_fifo"), "is a FIFO (named pipe), not a file"),
    ("market-baselines-binary", ("market", "baselines", "{gen}/market_binary"), "binary data (a NUL byte)"),
    ("market-baselines-latin1", ("market", "baselines", "{gen}/market_latin1"), "not UTF-8 text (byte 0xeb)"),
    ("market-no-subcommand-arg", ("market", "baselines"), "Missing argument"),
]


def all_cases() -> list[Case]:
    cases = []
    for index, (name, expect) in enumerate(YAML_FILES.items()):
        # The parse path is shared, so each file goes through two of the four commands, alternating;
        # the cases through all four.
        commands = FILE_COMMANDS if name in EVERY_COMMAND else FILE_COMMANDS[index % 2::2]
        for command in commands:
            cases.append(Case(f"{command}-yaml-{name}", (command, "{cases}/yaml/" + name), expect))
    for name, expect in GENERATED.items():
        for command in FILE_COMMANDS:
            cases.append(Case(f"{command}-gen-{name.strip('/').replace('/', '-')}", (command, _path(name)), expect))
    for name, expect in SCENARIO_FILES.items():
        for command in ("validate", "run"):
            cases.append(Case(f"{command}-scenario-{name}", (command, "{cases}/scenarios/" + name), expect))
    for name, expect in GAME_FILES.items():
        cases.append(Case(f"solve-game-{name}", ("solve", "{cases}/games/" + name), expect))
    for name, expect in SWEEP_FILES.items():
        cases.append(Case(f"sweep-{name}", ("sweep", "{cases}/sweeps/" + name), expect))
    for name, expect in MARKET_DIRS.items():
        cases.append(Case(f"market-baselines-{name}", ("market", "baselines", "{cases}/markets/" + name), expect))
    cases += [Case(id_, argv, expect) for id_, argv, expect in INVOCATIONS]
    return cases


def generate_all(folder: Path) -> None:
    """Every generated input: files, market folders, and a 14x14 game that support enumeration cannot finish."""
    generate(folder)
    generate_markets(folder)
    business = (CASES_DIR / "markets" / "no_customers" / "businesses" / "business_0001.yaml").read_text()
    (folder / "market_fifo" / "customers").mkdir(parents=True)
    (folder / "market_fifo" / "businesses").mkdir()
    os.mkfifo(folder / "market_fifo" / "customers" / "customer_0001.yaml")
    (folder / "market_fifo" / "businesses" / "business_0001.yaml").write_text(business)
    rng = random.Random(14)

    def matrix() -> str:
        return "[" + ", ".join("[" + ", ".join(str(rng.randint(-50, 50)) for _ in range(14)) + "]" for _ in range(14)) + "]"

    (folder / "random_14x14.yaml").write_text(f"A: {matrix()}\nB: {matrix()}\n")
