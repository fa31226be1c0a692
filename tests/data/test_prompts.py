from mathft_jax.data import prompts
from mathft_jax.data.answers import last_boxed_content


def test_sft_prompt_ends_where_solution_starts():
    assert prompts.sft_prompt("  What is $1+1$? ") == "Problem:\nWhat is $1+1$?\n\nSolution:\n"


def test_fewshot_has_four_boxed_exemplars_then_problem():
    text = prompts.fewshot_prompt("Q?")
    assert text.count("Problem:\n") == 5 and text.endswith("Problem:\nQ?\n\nSolution:\n")
    for _, solution in prompts.FEWSHOT_EXEMPLARS:
        assert last_boxed_content(solution)


def test_evaluator_prompt_and_labels():
    text = prompts.evaluator_prompt("P", "S")
    assert text == ("Here is a math problem: P Here is a candidate solution: S "
                    "The above candidate solution is")
    assert prompts.evaluator_target(True) == " correct"
    assert prompts.evaluator_target(False) == " incorrect"
