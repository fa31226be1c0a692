"""What a training run optimises, and how its task's examples become the model's rows.

`train_loop` takes an `Objective`: the loss factory, the SeqIO feature converter and the task
feature lengths belong together (a pairwise loss needs rows that keep each pair whole). This
module gives the generator's (SFT) objective; the evaluator exports its own
(`evaluator.objective`), so the trainer names no particular objective.

Example:
    >>> sft = sft_objective()
    >>> sft.feature_lengths(task=None, sequence_length=512, inputs_length=None)
    {'targets': 512}
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import seqio

from mathft_jax.models import ModelConfig
from mathft_jax.training.losses import LossFn, make_sft_loss

Task = seqio.Task | seqio.Mixture
# (model_config, task or mixture) -> loss_fn; the task gives e.g. the evaluator's label ids.
LossFnFactory = Callable[[ModelConfig, Task], LossFn]
# (task, pack) -> the converter of its examples into model rows.
ConverterFactory = Callable[[Task, bool], seqio.FeatureConverter]
# (task, sequence_length, inputs_length) -> the task's feature lengths.
LengthsFn = Callable[[Task, int, Optional[int]], dict[str, int]]


def decoder_converter(task: Task, pack: bool) -> seqio.FeatureConverter:
    """SeqIO's decoder-only converter (prefix-LM when the task has `inputs`)."""
    del task
    return seqio.DecoderFeatureConverter(pack=pack)


def prefix_lm_lengths(task: Optional[Task], sequence_length: int,
                      inputs_length: Optional[int] = None) -> dict[str, int]:
    """{"inputs": ..., "targets": ...} for prefix-LM tasks (inputs get `inputs_length`,
    default half), {"targets": L} for targets-only tasks (or no task)."""
    if task is not None and "inputs" in task.output_features:
        inputs_length = inputs_length or sequence_length // 2
        return {"inputs": inputs_length, "targets": sequence_length - inputs_length}
    return {"targets": sequence_length}


@dataclasses.dataclass(frozen=True)
class Objective:
    """A loss and the row layout it is computed on.

    Attributes:
      loss_fn_factory: (model_config, task) -> loss_fn(params, batch, rng) ->
        (loss_sum, metrics); see training/losses.py and evaluator/losses.py.
      feature_converter: (task, pack) -> the SeqIO feature converter of the rows.
      feature_lengths: (task, sequence_length, inputs_length) -> task feature lengths.
    """

    loss_fn_factory: LossFnFactory = make_sft_loss
    feature_converter: ConverterFactory = decoder_converter
    feature_lengths: LengthsFn = prefix_lm_lengths

    @property
    def name(self) -> str:
        """The loss factory's name (for logs and stage listings)."""
        return getattr(self.loss_fn_factory, "__name__", repr(self.loss_fn_factory))


def sft_objective(loss_fn_factory: LossFnFactory = make_sft_loss) -> Objective:
    """The generator's objective: `loss_fn_factory` (default SFT) on SeqIO decoder rows."""
    return Objective(loss_fn_factory=loss_fn_factory)
