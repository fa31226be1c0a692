"""The recipe's settings: one frozen dataclass, registered with gin (`gin_configs/recipe/*.gin`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import gin

from mathft_jax.errors import ConfigError
from mathft_jax.models import ModelConfig


@gin.register
@dataclasses.dataclass(frozen=True)
class RecipeSettings:
    """Everything the paper's chain needs; see `paper.py` for where each setting is used.

    Attributes:
      model_config: the decoder trained in every stage.
      generation_task / terse_task: SSFT tasks with detailed / terse solutions (terse_task
        None: no terse stage, its row says so; for data with one solution style).
      eval_task: the task decoded for candidates (its `train` split for evaluator data, its
        `test` split for the table).
      sft_steps, sft_learning_rate, warmup_steps: the SSFT stages.
      terse_steps: steps of the terse SSFT stage (None: `sft_steps`). Batches are packed, so
        equal steps give the terse model more problems than the detailed one; to compare the
        two on the same problems (as the paper compares solution sources for one problem
        set), scale by the token ratio of the two styles.
      evaluator_steps, evaluator_learning_rate: the evaluator stages (from the detailed SSFT
        model); evaluator_losses: which of "classification", "margin", "mixture" to train.
      step_evaluator_steps, step_evaluator_learning_rate: the process-supervised evaluator
        (a label after every checked step of every unique training sample, scored by the
        lowest; `evaluator/steps.py`); 0 steps: none. Needs a benchmark with a step checker
        (the synthetic one). When trained, finding 2 is judged with it (and reported for the
        margin evaluator too).
      verifier_steps, verifier_learning_rate: the likelihood verifier (the language-model
        loss on correct samples and right step results, unlikelihood on wrong ones; scored by
        its own probability of each sample; `evaluator/verifier.py`); 0 steps: none. Needs
        a step checker (the synthetic benchmark). When trained, finding 2 is judged with it.
      likelihood_baselines: rows re-ranking by the generator's own probability of each
        sample (total and per token), the baseline every evaluator is judged against.
      second_generator_steps, second_generator_learning_rate: the generator stage after the
        evaluator (multi-task) and of its control (after SSFT, no evaluator stage).
      multitask_from: the evaluator stage the multi-task generator starts from: "margin" (the
        paper's evaluator) or "likelihood" (the trained verifier; needs `verifier_steps`).
      joint_mixture: whether to train and test the joint mixture (generation + evaluation
        from SSFT at once), a row beside the sequential chain.
      parallel_stages: stages run at once when their inputs are ready (one host only). On a
        CPU a stage keeps about 1.3 of 2 cores busy (small ops run on one thread), so 2 runs
        the main job's independent stages side by side; on an accelerator keep 1 (two stages
        would share one device's memory). Not part of any fingerprint: outputs do not depend
        on it.
      train_problems, train_samples: evaluator data: samples per training problem.
      test_problems, test_samples, temperature, max_new_tokens: the table's decoding.
      batch_size, sequence_length: training batches.
      decode_batch_size, score_batch_size: prompts per decoding / scoring call.
      pass_ks, maj_ks, rerank_k, num_bootstrap, curve_repeats: evaluation.
      label_words: the evaluator's (positive, negative) label words.
      seed: every stage's seed.
      init_checkpoint: where the two SSFT stages start (None: random init; a checkpoint
        path; or "pretrained:<name>", e.g. "pretrained:gemma3_270m", see `params_source`).
      prepend_bos: put the model's BOS id before every prompt when decoding and scoring
        (pretrained Gemma needs it; the training rows get theirs from the task).
      keep_checkpoints: checkpoints each training stage keeps (the newest is what a resumed
        stage and the stages reading it load). 1, the default, keeps a stage folder to one
        checkpoint; more keeps earlier steps to inspect. Not part of any stage's fingerprint.
      keep_optimizer_state: whether a training stage's final checkpoint keeps the optimizer
        state. False, the default: the final step is saved params-only (Orbax writes no
        `opt_state` item; a third of the size with Adam), since no later stage resumes
        from optimizer state: evaluators, the multi-task model, its control and the joint
        mixture start from params (`init_checkpoint`), sampling and scoring read params
        (`params_source`). Steps before the final one (a killed stage resumes from those)
        keep it either way. True keeps it, e.g. to continue a stage's training by hand. Not
        part of any stage's fingerprint: it changes what is stored, not what is learned.
      summary_dir: where the training stages' TensorBoard folders go: `<summary_dir>/<stage>/`
        (train/ and eval/; a seed's run adds `seed_<k>/` first), e.g. a local folder while
        RUN_DIR is on `gs://`. None, the default: in each stage's own folder. Not part of
        any stage's fingerprint.
    """

    model_config: ModelConfig
    generation_task: str = "synthetic_sft"
    terse_task: Optional[str] = "synthetic_sft_terse"
    eval_task: str = "synthetic_eval"
    sft_steps: int = 300
    terse_steps: Optional[int] = None
    sft_learning_rate: float = 1e-3
    warmup_steps: int = 30
    evaluator_steps: int = 100
    evaluator_learning_rate: float = 1e-4
    evaluator_losses: tuple[str, ...] = ("classification", "margin", "mixture")
    step_evaluator_steps: int = 0
    step_evaluator_learning_rate: float = 3e-4
    likelihood_baselines: bool = True
    second_generator_steps: int = 100
    second_generator_learning_rate: float = 3e-4
    train_problems: int = 200
    train_samples: int = 8
    test_problems: int = 100
    test_samples: int = 16
    temperature: float = 0.9
    max_new_tokens: int = 256
    batch_size: int = 8
    sequence_length: int = 256
    decode_batch_size: int = 8
    score_batch_size: int = 16
    pass_ks: tuple[int, ...] = (1, 4, 16)
    maj_ks: tuple[int, ...] = (4,)
    rerank_k: int = 8
    num_bootstrap: int = 1000
    curve_repeats: int = 8
    label_words: tuple[str, str] = (" correct", " incorrect")
    seed: int = 0
    init_checkpoint: Optional[str] = None
    prepend_bos: bool = False
    keep_checkpoints: int = 1
    keep_optimizer_state: bool = False
    verifier_steps: int = 0
    verifier_learning_rate: float = 1e-4
    multitask_from: str = "margin"
    joint_mixture: bool = True
    parallel_stages: int = 1
    summary_dir: Optional[str] = None

    def __post_init__(self):
        if self.multitask_from not in ("margin", "likelihood"):
            raise ConfigError(f"RecipeSettings.multitask_from={self.multitask_from!r}: one of "
                              "'margin', 'likelihood'")
        if self.multitask_from == "likelihood" and not self.verifier_steps:
            raise ConfigError("RecipeSettings.multitask_from='likelihood' needs a trained "
                              "verifier (verifier_steps > 0)")
        if self.parallel_stages < 1:
            raise ConfigError(f"RecipeSettings.parallel_stages={self.parallel_stages}: at "
                              "least 1")

    def as_dict(self) -> dict[str, Any]:
        """Every field, the model config as a dict too (`asdict` recurses into it)."""
        return dataclasses.asdict(self)
