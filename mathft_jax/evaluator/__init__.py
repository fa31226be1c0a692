"""The solution evaluator (Liu et al. 2023, section 2): the same LM fine-tuned to say whether a
candidate solution is correct, and used to re-rank answer clusters.

Data flow:
    candidates JSONL (sampled on TRAIN problems) --evaluation.graded--> graded JSONL
    --examples.write_examples--> evaluator examples JSONL
    --tasks.register_evaluator_task--> SeqIO task (classification, pair, steps or tokens)
    --trainer + objective.task_objective(losses.make_evaluator_loss)--> evaluator checkpoint
    --`python -m mathft_jax.score`--> scores JSONL --> `python -m mathft_jax.evaluate` (RR.* metrics)

Modules: `inputs` (the ONE builder of an evaluator input, for every task kind's rows and for
`score`), `label_words` (the label words as token ids), `examples` (balanced per-problem
examples), `pairs` (the feature converter that keeps a pair in one row), `tasks` (SeqIO
registration by gin), `losses` (classification, pairwise margin, mixture), `objective` (what
the trainer takes: a loss on rows laid out as the evaluator task needs).
"""
