"""`--help` of the command-line entry points (`python -m mathft_jax.<entry> --help`).

Each entry point's help names the gin files a run needs, the macros it must set (and what
they mean), the other settings of its run file with their defaults (read from that file, so
they never drift from it) and an example command. Building it imports nothing heavy (no JAX,
no TensorFlow), so `--help` answers at once (`startup.on_entry_point` prints it before the
entry module is imported).

Example:
    >>> "MODEL_DIR" in format_help("train")
    True
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path
from typing import Mapping, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
HELP_FLAGS = ("-h", "--help")
FLAGS_TEXT = """\
flags:
  --gin_file=PATH          a gin file (repeatable; searched in the working directory, the
                           repository and the package)
  --gin.KEY=VALUE          one binding, e.g. --gin.NUM_SAMPLES=16 or
                           --gin.OUTPUT_FILE="'runs/x/candidates.jsonl'" (strings in quotes)
  --gin_search_paths=A,B   extra folders to search for gin files and their includes
  -h, --help               this text"""
EXIT_TEXT = """\
exit status: 0 done; 2 bad input or configuration (one `error: ...` line on stderr names
the file or setting); 3 the machine failed the run (disk full, quota: free space and rerun)."""
MODEL_PRESET = ("MODEL_CONFIG", "set by the model preset gin_configs/models/<preset>.gin "
                "(include it first; it must match the checkpoint's)")


@dataclasses.dataclass(frozen=True)
class EntryHelp:
    """What `--help` says about one entry point.

    Attributes:
      summary: one line: what a run does.
      gin_files: the gin files a run needs, in order, with what each is for.
      required: macro -> meaning, for every macro a run must set.
      example: a complete command.
      run_file: the run gin file whose other settings are listed with their defaults.
      notes: extra lines (optional).
    """

    summary: str
    gin_files: tuple[str, ...]
    required: Mapping[str, str]
    example: str
    run_file: Optional[str] = None
    notes: str = ""


ENTRY_POINTS: dict[str, EntryHelp] = {
    "train": EntryHelp(
        summary="Fine-tunes a decoder on a SeqIO task (SSFT, or a solution evaluator), with "
                "resumable Orbax checkpoints in MODEL_DIR.",
        gin_files=("gin_configs/models/<preset>.gin   the model (sets MODEL_CONFIG)",
                   "gin_configs/runs/sft.gin          solution fine-tuning, or",
                   "gin_configs/runs/evaluator.gin    a solution evaluator (also needs "
                   "EVALUATOR_CANDIDATES, INIT_CHECKPOINT)"),
        required={"MODEL_DIR": "the run folder: checkpoints/, TensorBoard logs; a rerun "
                               "resumes from its latest checkpoint",
                  "MIXTURE_OR_TASK_NAME": "the SeqIO task or mixture to train on, e.g. "
                                          "'synthetic_sft', 'math_sft'",
                  "TRAIN_STEPS": "optimizer steps of the whole run",
                  MODEL_PRESET[0]: MODEL_PRESET[1]},
        example="python -m mathft_jax.train --gin_file=gin_configs/models/tiny.gin "
                "--gin_file=gin_configs/runs/sft.gin \\\n    --gin.MODEL_DIR=\"'runs/tiny_sft'\" "
                "--gin.MIXTURE_OR_TASK_NAME=\"'synthetic_sft'\" --gin.TRAIN_STEPS=100",
        run_file="gin_configs/runs/sft.gin",
        notes="A progress bar with ETA is shown when stdout is a terminal; otherwise one "
              "line every log_every steps."),
    "infer": EntryHelp(
        summary="Decodes a task split (greedy + N samples per problem) into a candidates "
                "JSONL; resumable.",
        gin_files=("gin_configs/models/<preset>.gin   the model (sets MODEL_CONFIG)",
                   "gin_configs/runs/infer.gin        decoding settings"),
        required={"CHECKPOINT": "a training run's MODEL_DIR, a params export, "
                                "'pretrained:<name>' or 'random_init'",
                  "MIXTURE_OR_TASK_NAME": "the task whose problems are decoded, e.g. "
                                          "'synthetic_eval'",
                  "OUTPUT_FILE": "the candidates JSONL to write (a rerun continues it)",
                  MODEL_PRESET[0]: MODEL_PRESET[1]},
        example="python -m mathft_jax.infer --gin_file=gin_configs/models/tiny.gin "
                "--gin_file=gin_configs/runs/infer.gin \\\n    --gin.CHECKPOINT=\"'runs/tiny_sft'\" "
                "--gin.MIXTURE_OR_TASK_NAME=\"'synthetic_eval'\" \\\n"
                "    --gin.OUTPUT_FILE=\"'runs/tiny_sft/candidates.jsonl'\" --gin.NUM_SAMPLES=16",
        run_file="gin_configs/runs/infer.gin"),
    "score": EntryHelp(
        summary="Scores every sampled candidate of a candidates file with a trained solution "
                "evaluator into a scores JSONL; resumable.",
        gin_files=("gin_configs/models/<preset>.gin   the model (sets MODEL_CONFIG)",
                   "gin_configs/runs/score.gin        scoring settings"),
        required={"CHECKPOINT": "the evaluator's MODEL_DIR (trained with runs/evaluator.gin)",
                  "CANDIDATES_FILE": "the candidates JSONL written by infer",
                  "OUTPUT_FILE": "the scores JSONL to write (evaluate's SCORES_FILE)",
                  MODEL_PRESET[0]: MODEL_PRESET[1]},
        example="python -m mathft_jax.score --gin_file=gin_configs/models/tiny.gin "
                "--gin_file=gin_configs/runs/score.gin \\\n"
                "    --gin.CHECKPOINT=\"'runs/tiny_evaluator'\" "
                "--gin.CANDIDATES_FILE=\"'runs/tiny_sft/candidates.jsonl'\" \\\n"
                "    --gin.OUTPUT_FILE=\"'runs/tiny_sft/scores.jsonl'\"",
        run_file="gin_configs/runs/score.gin"),
    "evaluate": EntryHelp(
        summary="Grades a candidates file: accuracy, clustering, majority voting, re-ranking "
                "with evaluator scores; writes report.json, report.md, accuracy_vs_n.png.",
        gin_files=("gin_configs/runs/evaluate.gin     grading settings (no model needed)",),
        required={"CANDIDATES_FILE": "the candidates JSONL written by infer",
                  "OUTPUT_DIR": "the folder for the report and the plot (created)"},
        example="python -m mathft_jax.evaluate --gin_file=gin_configs/runs/evaluate.gin \\\n"
                "    --gin.CANDIDATES_FILE=\"'runs/tiny_sft/candidates.jsonl'\" "
                "--gin.OUTPUT_DIR=\"'runs/tiny_sft/eval'\"",
        run_file="gin_configs/runs/evaluate.gin",
        notes="Re-ranking columns (RR.*, W.RR*) need --gin.SCORES_FILE=... from "
              "`python -m mathft_jax.score`."),
    "export": EntryHelp(
        summary="Exports parameters as a params-only Orbax checkpoint and Hugging Face "
                "safetensors.",
        gin_files=("gin_configs/runs/export.gin       export settings (a pretrained model by "
                   "default)",
                   "gin_configs/models/<preset>.gin   first, when exporting a fine-tuned "
                   "CHECKPOINT (with --gin.PRETRAINED=None)"),
        required={"OUTPUT_DIR": "the export folder (created)"},
        example="python -m mathft_jax.export --gin_file=gin_configs/runs/export.gin "
                "--gin.OUTPUT_DIR=\"'exports/gemma3_270m'\"",
        run_file="gin_configs/runs/export.gin"),
    "recipe": EntryHelp(
        summary="Runs the paper's whole chain (SSFT, sampling, evaluators, multi-task, "
                "grading, the table and its verdicts), one resumable stage per folder.",
        gin_files=("gin_configs/recipe/quick.gin            seconds per stage (tiny model; "
                   "a smoke test), or",
                   "gin_configs/recipe/synthetic_mini.gin   the main job (~20 min on 2 CPU "
                   "cores), or",
                   "gin_configs/recipe/math_gemma3_270m.gin MATH from Gemma 3 270M "
                   "(accelerator), or",
                   "gin_configs/recipe/evaluator_scaling.gin the evaluator data-scaling "
                   "study (in the main job's RUN_DIR)"),
        required={"RUN_DIR": "the folder of the run: one sub-folder per stage and report/ "
                             "(a rerun skips finished stages)"},
        example="python -m mathft_jax.recipe --gin_file=gin_configs/recipe/quick.gin "
                "--gin.RUN_DIR=\"'runs/quick'\"",
        notes="Sizes are RecipeSettings.* bindings (mathft_jax/recipe/settings.py), e.g. "
              "--gin.RecipeSettings.sft_steps=100;\n"
              "--gin.recipe.seeds=\"(0, 1, 2)\" runs every seed and aggregates them; "
              "--gin.recipe.targets=\"('eval_test_sft_detailed',)\" runs some stages.\n"
              "The plan (stages to run / to skip) is printed at the start."),
    "train_sequence": EntryHelp(
        summary="Multi-task sequential fine-tuning: several training stages on one model "
                "(generator -> evaluator -> generator), each resumable.",
        gin_files=("gin_configs/experiments/synthetic_multitask.gin          the paper's "
                   "sequence, or",
                   "gin_configs/experiments/synthetic_multitask_control.gin  its control "
                   "(no evaluator stage), or",
                   "gin_configs/experiments/synthetic_joint.gin              one joint "
                   "mixture stage"),
        required={"MODEL_DIR": "the run folder; stage i trains in MODEL_DIR/<i>_<name>",
                  "EVALUATOR_CANDIDATES": "candidates sampled on the TRAINING problems "
                                          "(the evaluator's data; not for the control)"},
        example="python -m mathft_jax.train_sequence "
                "--gin_file=gin_configs/experiments/synthetic_multitask.gin \\\n"
                "    --gin.MODEL_DIR=\"'runs/multitask'\" "
                "--gin.EVALUATOR_CANDIDATES=\"'runs/own/train_candidates.jsonl'\""),
}

_SETTING = re.compile(r"^([A-Z][A-Z0-9_]*)\s*=\s*(.+?)\s*(?:#\s*(.*))?$")


def module_name(entry: str) -> str:
    """The `python -m` name of an entry point, e.g. 'mathft_jax.train'."""
    return f"mathft_jax.{entry}"


def help_hint(entry: Optional[str]) -> str:
    """The hint that ends an unknown-flag error."""
    command = f"python -m {module_name(entry)} --help" if entry else "--help"
    return f"run `{command}` for the gin files, the required settings and an example"


def run_file_settings(path: Path) -> list[tuple[str, str, str]]:
    """(macro, default, comment) for each macro a run gin file sets to a value.

    Required macros (`%gin.REQUIRED`) and macros set from other macros are left out.

    Example:
        >>> run_file_settings(REPO_ROOT / "gin_configs/runs/evaluate.gin")[0]
        ('CANDIDATES_FILE', 'None', 'this or GRADED_FILE')
    """
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        match = _SETTING.match(line)
        if match and not match.group(2).startswith("%"):
            out.append((match.group(1), match.group(2), match.group(3) or ""))
    return out


def _wrapped(lead: str, text: str, width: int = 92) -> str:
    """`lead` + `text`, wrapped to `width` with the continuation lines under the text."""
    return textwrap.fill(text, width=width, initial_indent=lead,
                         subsequent_indent=" " * len(lead))


def _presets_line(info: EntryHelp) -> list[str]:
    """'  <preset>: tiny, mini, ...' when the entry needs a model preset (read from disk)."""
    folder = REPO_ROOT / "gin_configs" / "models"
    if not any("<preset>" in line for line in info.gin_files) or not folder.is_dir():
        return []
    names = sorted(path.stem for path in folder.glob("*.gin"))
    return [_wrapped("  <preset>: ", ", ".join(names))] if names else []


def format_help(entry: str) -> str:
    """The whole `--help` text of `entry` (a key of ENTRY_POINTS)."""
    info = ENTRY_POINTS[entry]
    width = max(len(name) for name in info.required)
    parts = [
        f"usage: python -m {module_name(entry)} --gin_file=FILE [--gin_file=FILE ...] "
        f"--gin.MACRO=VALUE ...",
        "",
        _wrapped("", info.summary),
        "",
        "gin files a run needs (in this order):",
        *(f"  {line}" for line in info.gin_files),
        *_presets_line(info),
        "",
        "required settings (--gin.NAME=VALUE):",
        *(_wrapped(f"  {name.ljust(width)}  ", meaning)
          for name, meaning in info.required.items()),
    ]
    settings = run_file_settings(REPO_ROOT / info.run_file) if info.run_file else []
    if settings:
        parts += ["", f"other settings (defaults from {info.run_file}):"]
        parts += [f"  {name} = {value}" + (f"   # {note}" if note else "")
                  for name, value, note in settings]
    parts += ["", "example:", f"  {info.example}", "", FLAGS_TEXT, "", EXIT_TEXT]
    if info.notes:
        parts += ["", info.notes]
    return "\n".join(parts) + "\n"
