r"""Prompt formats shared by training, decoding and the evaluator.

SFT / eval prompt (the model writes the solution right after it)::

    Problem:
    {problem}

    Solution:
    <model writes the solution, ending with \boxed{answer}>

Few-shot prompt for pre-trained models: four worked exemplars in the same format, separated by
blank lines, then the problem (Minerva-style: same layout, answer boxed at the end).

Evaluator prompt (Liu et al. 2023), scored by the next-token probabilities of the label words::

    Here is a math problem: {problem} Here is a candidate solution: {solution} The above
    candidate solution is

followed by " correct" or " incorrect" (EVALUATOR_LABELS).
"""

from __future__ import annotations

SFT_TEMPLATE = "Problem:\n{problem}\n\nSolution:\n"
EXEMPLAR_SEPARATOR = "\n\n"
EVALUATOR_TEMPLATE = ("Here is a math problem: {problem} Here is a candidate solution: "
                      "{solution} The above candidate solution is")
EVALUATOR_LABELS = (" correct", " incorrect")
# The generator's own view of a candidate (the likelihood verifier's input): its SFT prompt
# followed by the solution.
GENERATOR_TEMPLATE = SFT_TEMPLATE + "{solution}"

# Four worked exemplars written for this project, one per common answer kind (integer,
# fraction, radical, interval), each ending with the boxed answer the grader extracts.
FEWSHOT_EXEMPLARS: tuple[tuple[str, str], ...] = (
    (r"What is the remainder when $7^{4}$ is divided by $5$?",
     r"Since $7 \equiv 2 \pmod 5$, we have $7^4 \equiv 2^4 = 16 \equiv 1 \pmod 5$. "
     r"The remainder is $\boxed{1}$."),
    (r"Solve for $x$: $4x - 3 = x + 5$.",
     r"Subtracting $x$ from both sides gives $3x - 3 = 5$, so $3x = 8$ and "
     r"$x = \boxed{\frac{8}{3}}$."),
    (r"Simplify $\sqrt{50} - \sqrt{8}$.",
     r"We have $\sqrt{50} = \sqrt{25 \cdot 2} = 5\sqrt{2}$ and $\sqrt{8} = \sqrt{4 \cdot 2} = "
     r"2\sqrt{2}$. Therefore $\sqrt{50} - \sqrt{8} = 5\sqrt{2} - 2\sqrt{2} = \boxed{3\sqrt{2}}$."),
    (r"Find all $x$ with $|2x - 1| \le 7$. Express your answer in interval notation.",
     r"The inequality means $-7 \le 2x - 1 \le 7$. Adding $1$ gives $-6 \le 2x \le 8$, and "
     r"dividing by $2$ gives $-3 \le x \le 4$. The solution set is $\boxed{[-3, 4]}$."),
)


def sft_prompt(problem: str) -> str:
    """The prompt for solution fine-tuning and decoding: ends where the solution starts.

    Example:
        >>> sft_prompt("What is $1+1$?")
        'Problem:\\nWhat is $1+1$?\\n\\nSolution:\\n'
    """
    return SFT_TEMPLATE.format(problem=problem.strip())


def fewshot_prompt(problem: str, exemplars: tuple[tuple[str, str], ...] = FEWSHOT_EXEMPLARS
                   ) -> str:
    """Worked exemplars (problem, solution), then the problem; ends where the solution starts."""
    shots = [sft_prompt(p) + s for p, s in exemplars]
    return EXEMPLAR_SEPARATOR.join(shots + [sft_prompt(problem)])


def evaluator_prompt(problem: str, solution: str) -> str:
    """The evaluator's input; the label word (EVALUATOR_LABELS) is the next token.

    Example:
        >>> evaluator_prompt("1+1?", "It is $2$.").split(" Here is ")[1]
        'a candidate solution: It is $2$. The above candidate solution is'
    """
    return EVALUATOR_TEMPLATE.format(problem=problem.strip(), solution=solution.strip())


def evaluator_target(is_correct: bool) -> str:
    """The label text for a candidate: " correct" or " incorrect"."""
    return EVALUATOR_LABELS[0] if is_correct else EVALUATOR_LABELS[1]
