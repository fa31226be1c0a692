"""SeqIO task and mixture registrations. `import tasks` registers them all (cheaply: no data
is read and no vocabulary is trained until a task is used).

Registered: math_sft, math_eval, math_fewshot (tasks/math_tasks.py); synthetic_sft,
synthetic_sft_terse, synthetic_sft_corrupted, synthetic_eval and the mixture
synthetic_sft_styles (tasks/synthetic_tasks.py). Users add their own with
`register_jsonl_sft_task` (see the README's "Adding your own task").
"""

from mathft_jax.data.task_factory import register_jsonl_sft_task, register_sft_mixture
from tasks import math_tasks, synthetic_tasks
