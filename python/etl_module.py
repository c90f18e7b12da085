"""Helpers for writing an etl-ledger module in Python.

The same functions as the Node helpers (``etl-ledger/module``), named in Python's case:
``parse_args``, ``read_config``, ``metric``, ``output``, ``log``, ``fail``, ``ExitCode`` and
``context`` (README "Writing a module: helpers"). Standard library only, Python 3.9 or later:
copy this file beside your modules (``etl init --python`` does), or install it with
``pip install "git+https://github.com/OWNER/etl-ledger.git#subdirectory=python"``.

A YAML conf needs PyYAML (``pip install pyyaml``); without it, ``read_config`` says so and
ends the module with ExitCode.CONFIG. A JSON conf needs nothing.
"""

from __future__ import annotations

import enum
import json
import json.decoder
import json.scanner
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, NoReturn, Optional, Sequence, Union

__all__ = [
    "ExitCode",
    "FailedStep",
    "LOG_LEVELS",
    "Logger",
    "ModuleArgs",
    "RunContext",
    "context",
    "create_logger",
    "fail",
    "log",
    "metric",
    "output",
    "parse_args",
    "read_config",
]

# The names etl-ledger's runner uses (src/definitions/): a test checks they are the same.
DEFAULT_FLAGS = {"input": "--input", "output": "--output", "config": "--config"}
FLAG_VARIABLES = {"input": "ETL_FLAG_INPUT", "output": "ETL_FLAG_OUTPUT", "config": "ETL_FLAG_CONFIG"}
METRIC_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$"
OUTPUT_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
LOG_LEVELS = ("debug", "info", "warn", "error")
LOG_LEVEL_VARIABLE = "ETL_LOG_LEVEL"


class ExitCode(enum.IntEnum):
    """Exit codes with meanings (BSD sysexits.h). To the runner, 0 lets the run go on and
    anything else fails the step; a step's ``retry_on`` and ``continue_on`` decide what follows."""

    OK = 0
    """Done: the run goes on."""
    FAILED = 1
    """Failed, for no reason named below."""
    USAGE = 64
    """The command line was wrong: a flag without its value."""
    DATA = 65
    """The input was read but its content is wrong."""
    NO_INPUT = 66
    """The input is missing or cannot be read."""
    TEMPORARY = 75
    """Worth another try later: list 75 in the step's ``retry_on``."""
    CONFIG = 78
    """The conf is missing or wrong."""


def fail(message: str, code: int = ExitCode.FAILED) -> NoReturn:
    """Says why on stderr and ends the module with ``code`` (0 is taken as 1: this is a failure)."""
    sys.stdout.flush()
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    # SystemExit, not os._exit: the module's `finally` blocks still run.
    raise SystemExit(int(code) or int(ExitCode.FAILED))


# --- the logger ---------------------------------------------------------------------------


class Logger:
    """Writes the levels from ETL_LOG_LEVEL up (info when unset): debug and info to stdout,
    warn and error to stderr; a line that is not progress (info) starts with its level. Each
    line is flushed, so that the step's log keeps stdout and stderr in the order written."""

    def __init__(self, env: Optional[Mapping[str, str]] = None) -> None:
        env = os.environ if env is None else env
        given = env.get(LOG_LEVEL_VARIABLE, "").strip().lower()
        known = "warn" if given == "warning" else given if given in LOG_LEVELS else None
        self.level = known or "info"
        self._lowest = LOG_LEVELS.index(self.level)
        if given and not known:
            self.warn(f'{LOG_LEVEL_VARIABLE} is "{given}": expected {", ".join(LOG_LEVELS)}; using info')

    def _write(self, level: str, message: str) -> None:
        if LOG_LEVELS.index(level) < self._lowest:
            return
        stream = sys.stderr if level in ("warn", "error") else sys.stdout
        stream.write(f"{message}\n" if level == "info" else f"{level}: {message}\n")
        stream.flush()

    def debug(self, message: str) -> None:
        self._write("debug", message)

    def info(self, message: str) -> None:
        self._write("info", message)

    def warn(self, message: str) -> None:
        self._write("warn", message)

    warning = warn

    def error(self, message: str) -> None:
        self._write("error", message)


def create_logger(env: Optional[Mapping[str, str]] = None) -> Logger:
    return Logger(env)


class _SharedLogger:
    """The module's logger, made on first use."""

    _logger: Optional[Logger] = None

    def __getattr__(self, name: str) -> Any:
        if _SharedLogger._logger is None:
            _SharedLogger._logger = Logger()
        return getattr(_SharedLogger._logger, name)


log: Logger = _SharedLogger()  # type: ignore[assignment]


# --- the command line ---------------------------------------------------------------------


@dataclass
class ModuleArgs:
    input: Optional[str] = None
    output: Optional[str] = None
    config: Optional[str] = None
    rest: List[str] = field(default_factory=list)
    """The other words, in order: the module's own options (the ``--strict`` of a cmd)."""


def parse_args(
    argv: Optional[Sequence[str]] = None,
    flags: Optional[Mapping[str, str]] = None,
    env: Optional[Mapping[str, str]] = None,
) -> ModuleArgs:
    """The step's input, output and conf from the command line, under the names the runner
    says in ETL_FLAG_INPUT, ETL_FLAG_OUTPUT and ETL_FLAG_CONFIG (a module's ``flags`` in
    modules.json may rename them); else ``flags``, the names this module takes when run by
    hand; else --input, --output, --config. A flag without its value ends the module (64)."""
    env = os.environ if env is None else env
    names = {
        role: env.get(FLAG_VARIABLES[role]) or (flags or {}).get(role) or DEFAULT_FLAGS[role]
        for role in DEFAULT_FLAGS
    }
    words = list(sys.argv[1:] if argv is None else argv)
    args = ModuleArgs()
    i = 0
    while i < len(words):
        word = words[i]
        role = next(
            (r for r, name in names.items() if word == name or (name.startswith("--") and word.startswith(name + "="))),
            None,
        )
        if role is None:
            args.rest.append(word)
            i += 1
            continue
        if word != names[role]:
            value: Optional[str] = word[len(names[role]) + 1 :]
        else:
            i += 1
            value = words[i] if i < len(words) else None
        if value is None:
            fail(f"{word} needs a value (a path), and it is the last word", ExitCode.USAGE)
        # `--input --output x`: the flag's value left out, not a path named like a flag.
        if word == names[role] and value in names.values():
            fail(f"{word} needs a value (a path), and is followed by the flag {value}", ExitCode.USAGE)
        if getattr(args, role) is not None:
            fail(f'{names[role]} is given twice ("{getattr(args, role)}", "{value}")', ExitCode.USAGE)
        setattr(args, role, value)
        i += 1
    return args


# --- the conf -----------------------------------------------------------------------------

_REQUIRED: Any = object()


def read_config(path: Optional[str] = None, default: Any = _REQUIRED) -> Any:
    """The conf's content: ``path``, else the step's conf from the command line. JSON, or YAML
    (.yaml, .yml; with PyYAML) by its extension. A step without a conf gets ``default``, or
    ends the module; a conf that cannot be read or parsed ends it too, saying where, with
    ExitCode.CONFIG (78)."""
    file = path if path is not None else parse_args().config
    if file is None:
        if default is not _REQUIRED:
            return default
        fail("no conf given: the step has no `conf` (and no default was given to read_config)", ExitCode.CONFIG)
    lower = file.lower()
    if lower.endswith((".yaml", ".yml")):
        parse = _parse_yaml
    elif lower.endswith(".json"):
        parse = _parse_json
    else:
        fail(
            f"{file}: cannot tell JSON from YAML by its name (.json, .yaml or .yml): read a conf of "
            "another kind yourself, from the path parse_args() gives",
            ExitCode.CONFIG,
        )
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        fail(f"{file}: cannot read the conf: it does not exist", ExitCode.CONFIG)
    except IsADirectoryError:
        fail(f"{file}: cannot read the conf: it is a folder, not a file", ExitCode.CONFIG)
    except PermissionError:
        fail(f"{file}: cannot read the conf: permission denied", ExitCode.CONFIG)
    except (OSError, UnicodeDecodeError) as error:
        fail(f"{file}: cannot read the conf: {error}", ExitCode.CONFIG)
    return parse(file, text[1:] if text.startswith("\ufeff") else text)


class _Located(Exception):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def _position(text: str, offset: int) -> str:
    """``line:column`` of an offset, 1-based."""
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return f"{line}:{column}"


def _parse_json(file: str, text: str) -> Any:
    """Strict JSON, as etl-ledger reads its own: a duplicate key, NaN or Infinity is an error
    (json.loads would keep the last key and take NaN)."""
    decoder = json.JSONDecoder(parse_constant=_no_constant)

    def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
        pairs, end = json.decoder.JSONObject(s_and_end, strict, scan_once, None, list, memo)
        seen = set()
        for key, _ in pairs:
            if key in seen:
                message = f'duplicate key "{key}" in the object that starts here (each key may appear once)'
                raise _Located(message, s_and_end[1] - 1)
            seen.add(key)
        return dict(pairs), end

    decoder.parse_object = parse_object  # type: ignore[assignment]
    # The pure-Python scanner calls parse_object above; the C one would not.
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as error:
        fail(f"{file}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}", ExitCode.CONFIG)
    except _Located as error:
        fail(f"{file}:{_position(text, error.position)}: {error}", ExitCode.CONFIG)
    except ValueError as error:
        fail(f"{file}: invalid JSON: {error}", ExitCode.CONFIG)
    except RecursionError:
        fail(f"{file}: the conf cannot be parsed: nesting too deep", ExitCode.CONFIG)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _parse_yaml(file: str, text: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        fail(
            f"{file}: a YAML conf needs PyYAML in Python (pip install pyyaml), which is not installed here: "
            "install it, or write the conf as JSON",
            ExitCode.CONFIG,
        )
    try:
        return yaml.load(text, Loader=_strict_yaml_loader(yaml))  # a SafeLoader: it builds no Python objects
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        fail(f"{file}{where}: invalid YAML: {error.problem or error.context}", ExitCode.CONFIG)
    except yaml.YAMLError as error:
        fail(f"{file}: invalid YAML: {error}", ExitCode.CONFIG)


def _strict_yaml_loader(yaml: Any) -> Any:
    """PyYAML's SafeLoader refusing a duplicate key, as etl-ledger does (PyYAML keeps the last)."""

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen = []
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base`: its keys may be overridden
            key = loader.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f'duplicate key "{key}" (each key may appear once in a mapping)', key_node.start_mark
                )
            seen.append(key)
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


# --- metrics and outputs ------------------------------------------------------------------

Value = Union[str, int, float, bool]


def metric(name: str, value: Value) -> None:
    """A metric of the step (``rows_read``, 25): numbers stay numbers in its record, and
    ``expect`` rules may check them."""
    if not re.fullmatch(METRIC_NAME_PATTERN, name):
        fail(f'metric name "{name}" is not letters, digits, _ . - (a letter or _ first, 100 at most)')
    _report("ETL_METRICS", "metric", name, value)


def output(key: str, value: Value) -> None:
    """A value later steps use as ${steps.NAME.outputs.KEY}."""
    if not re.fullmatch(OUTPUT_KEY_PATTERN, key):
        fail(f'output name "{key}" is not letters, digits and _ (a letter or _ first)')
    _report("ETL_OUTPUTS", "output", key, value)


def _report(variable: str, what: str, key: str, value: Value) -> None:
    if isinstance(value, bool):
        text = "true" if value else "false"  # as Node writes them
    elif isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            fail(f"{what} {key} is {value}: a number must be finite")
        # As Node's String() writes them: 3.0 is "3", 2.5 "2.5", 1e21 "1e+21".
        integral = isinstance(value, int) or (value.is_integer() and abs(value) < 1e21)
        text = str(int(value)) if integral else repr(value)
    elif isinstance(value, str):
        text = value
    else:
        fail(f"{what} {key}: expected a string, a number or a boolean, got {type(value).__name__}")
    file = os.environ.get(variable)
    if not file:
        log.debug(f"{what} {key}={json.dumps(text)} (not recorded: {variable} is not set, the module runs outside etl)")
        return
    with open(file, "a", encoding="utf-8") as handle:
        handle.write(_key_value(key, text))


def _key_value(key: str, value: str) -> str:
    """One ``key=value`` line, or a ``key<<DELIMITER`` block for a value with a line break."""
    if "\n" not in value and "\r" not in value:
        return f"{key}={value}\n"
    delimiter = f"ETL_EOF_{secrets.token_hex(8)}"
    while delimiter in value:
        delimiter = f"ETL_EOF_{secrets.token_hex(8)}"
    return f"{key}<<{delimiter}\n{value}\n{delimiter}\n"


# --- what the runner says about the run ---------------------------------------------------


@dataclass(frozen=True)
class FailedStep:
    step: int
    step_name: str
    module: str
    exit_code: Optional[int]
    """None when it was killed or could not start."""
    status: str
    """failed or timed_out."""


@dataclass(frozen=True)
class RunContext:
    """What the runner tells a module about its run (README "The module wrapper: what a module
    is given"); outside etl each of these is None."""

    run_id: Optional[str] = None
    sequence: Optional[str] = None
    step: Optional[int] = None
    role: Optional[str] = None
    step_name: Optional[str] = None
    module: Optional[str] = None
    input: Optional[str] = None
    output: Optional[str] = None
    config: Optional[str] = None
    repo: Optional[str] = None
    run_dir: Optional[str] = None
    attempt: Optional[int] = None
    tick: Optional[str] = None
    params: Dict[str, str] = field(default_factory=dict)
    """The run's params by name, lower-cased (ETL_PARAM_REGION gives ``region``)."""
    run_status: Optional[str] = None
    """In a handler's steps: succeeded, succeeded_with_failures, failed or cancelled."""
    failed: Optional[FailedStep] = None
    """In the handlers after a failure: the step that failed."""


def context(env: Optional[Mapping[str, str]] = None) -> RunContext:
    env = os.environ if env is None else env

    def text(name: str) -> Optional[str]:
        return env.get(name) or None

    def number(name: str) -> Optional[int]:
        return int(env[name]) if env.get(name) else None

    prefix = "ETL_PARAM_"
    return RunContext(
        run_id=text("ETL_RUN_ID"),
        sequence=text("ETL_SEQUENCE"),
        step=number("ETL_STEP"),
        role=text("ETL_STEP_ROLE"),
        step_name=text("ETL_STEP_NAME"),
        module=text("ETL_MODULE"),
        input=text("ETL_INPUT"),
        output=text("ETL_OUTPUT"),
        config=text("ETL_CONFIG"),
        repo=text("ETL_REPO"),
        run_dir=text("ETL_RUN_DIR"),
        attempt=number("ETL_ATTEMPT"),
        tick=text("ETL_TICK"),
        params={name[len(prefix) :].lower(): value for name, value in env.items() if name.startswith(prefix)},
        run_status=text("ETL_RUN_STATUS"),
        failed=FailedStep(
            step=int(env["ETL_FAILED_STEP"]),
            step_name=env.get("ETL_FAILED_STEP_NAME", ""),
            module=env.get("ETL_FAILED_MODULE", ""),
            exit_code=number("ETL_FAILED_EXIT_CODE"),
            status=env.get("ETL_FAILED_STATUS", ""),
        )
        if env.get("ETL_FAILED_STEP")
        else None,
    )
