"""A TensorFlow Datasets builder for MATH, read from a manual directory in either layout.

Configs: "paper" (train 12,000 = outside MATH500, test = MATH500) and "original"
(7,500 / 5,000). Features are all text: `problem_id`, `problem`, `solution`, `answer`,
`level`, `subject` (see `math_dataset.MathProblem`).

Example:
    >>> build_math_tfds("/tmp/tfds", "../shared/data/math", "paper")  # doctest: +SKIP
    >>> source = math_tfds_source("paper", "/tmp/tfds")  # a seqio.TfdsDataSource   # doctest: +SKIP
    >>> register_math_tfds_task("math_sft_tfds", "paper", "/tmp/tfds")              # doctest: +SKIP

`seqio.TfdsDataSource` shards by file, which suits multi-host input pipelines; the default
MATH tasks (tasks/math_tasks.py) read the files directly instead and need no build step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import seqio
import tensorflow as tf
import tensorflow_datasets as tfds

from mathft_jax.data import math_dataset
from mathft_jax.data import prompts
from mathft_jax.data import task_options
from mathft_jax.data import task_factory

TFDS_NAME = "hendrycks_math"
FEATURES = ("problem_id", "problem", "solution", "answer", "level", "subject")


class HendrycksMath(tfds.core.GeneratorBasedBuilder):
    """MATH (Hendrycks et al. 2021) from a manual directory."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Paper (12,000 / MATH500) and original (7,500 / 5,000) splits."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Put MATH in the manual directory (`--manual_dir`, or DownloadConfig(manual_dir=...)) in
    either layout:
      * JSON Lines: train.jsonl, test.jsonl (fields unique_id, problem, level, type,
        solution) and math500_ids.txt;
      * the official archive: train/<subject>/<n>.json and test/<subject>/<n>.json (directly
        or under MATH/), plus math500_ids.txt next to train/ for the "paper" config.
    """
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="paper", description="train: the 12,000 problems outside "
                                "MATH500; test: MATH500"),
        tfds.core.BuilderConfig(name="original", description="the original 7,500 / 5,000"),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({k: tfds.features.Text() for k in FEATURES}),
            homepage="https://github.com/hendrycks/math",
            citation="Hendrycks et al., Measuring Mathematical Problem Solving With the MATH "
                     "Dataset, arXiv:2103.03874",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = Path(dl_manager.manual_dir)
        return {split: self._generate_examples(manual_dir, split)
                for split in math_dataset.SPLITS}

    def _generate_examples(self, manual_dir: Path, split: str):
        problems, _ = math_dataset.load_math(manual_dir, self.builder_config.name, split,
                                             on_error="raise")
        for p in problems:
            yield p.problem_id, p.to_dict()


def build_math_tfds(data_dir: str | os.PathLike, manual_dir: Optional[str | os.PathLike] = None,
                    config: str = "paper") -> HendrycksMath:
    """Builds one config into `data_dir` (no-op when already built); returns the builder.

    `manual_dir` None: the MATH folder `math_dataset.math_data_dir` finds, starting from the
    current task options' `math_data_dir`."""
    manual = Path(manual_dir) if manual_dir else math_dataset.math_data_dir(
        task_options.current().math_data_dir)
    builder = HendrycksMath(config=config, data_dir=str(data_dir))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    return builder


def math_tfds_source(config: str = "paper", data_dir: Optional[str] = None
                     ) -> seqio.TfdsDataSource:
    """A read-only `seqio.TfdsDataSource` over a built config (see `build_math_tfds`)."""
    return seqio.TfdsDataSource(tfds_name=f"{TFDS_NAME}/{config}:{HendrycksMath.VERSION}",
                                tfds_data_dir=data_dir, read_only=True)


@seqio.map_over_dataset
def to_sft_example(ex: dict) -> dict:
    """TFDS example -> task record: prompt in `inputs`, solution in `targets`."""
    head, tail = prompts.SFT_TEMPLATE.split("{problem}")
    return {"problem_id": ex["problem_id"], "answer": ex["answer"], "level": ex["level"],
            "subject": ex["subject"], "targets": ex["solution"],
            "inputs": tf.strings.join([head, tf.strings.strip(ex["problem"]), tail])}


def register_math_tfds_task(name: str, config: str = "paper", data_dir: Optional[str] = None,
                            vocabulary: Optional[seqio.Vocabulary] = None) -> seqio.Task:
    """Registers an SFT task (same features as `math_sft`) over the built TFDS dataset."""
    if name in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(name)
    return seqio.TaskRegistry.add(
        name, source=math_tfds_source(config, data_dir),
        preprocessors=[to_sft_example, *task_factory.PREPROCESSORS],
        output_features=task_factory.output_features(vocabulary or
                                                     task_factory.MATH_VOCABULARY))
